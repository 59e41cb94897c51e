"""Scenario variants: dotted keys set on the scenario document (``--set``, ``--cni``).

Keys address the YAML document as written: ``clusters[0].node_pools[0].max_pods`` or,
by name, ``clusters[aks1].node_pools[user].max_pods``. Values are read as YAML scalars,
the way scenario files are (:func:`simulator.loader.read_value`), so ``30`` is a number,
``10m`` a duration string and ``true`` a boolean.
"""

from __future__ import annotations

import copy
import itertools
import re
from typing import Any

import yaml

from simulator.core.modes import MODES, Space, simulated_modes
from simulator.errors import IpsimError
from simulator.scenario.loader import read_value
from simulator.scenario.models import added_pool_documents

__all__ = ["SetError", "apply_settings", "parse_settings", "set_key", "switch_cni", "variants"]

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\]]+\])*)")


class SetError(IpsimError):
    """A ``--set`` or ``--cni`` option that does not fit the scenario."""


def parse_settings(options: tuple[str, ...] | list[str]) -> list[tuple[str, list[Any]]]:
    """``KEY=V1,V2`` options as (key, values); values parsed as YAML scalars."""
    out: list[tuple[str, list[Any]]] = []
    for option in options:
        key, sep, raw = option.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise SetError(f"--set {option!r}: expected KEY=VALUE[,VALUE...]")
        values = []
        for text in raw.split(","):
            try:
                values.append(read_value(text.strip()))
            except (yaml.YAMLError, ValueError, RecursionError):
                raise SetError(f"--set {key}: cannot read value {text.strip()!r}") from None
        out.append((key.strip(), values))
    return out


def _steps(key: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in key.split("."):
        match = _SEGMENT.fullmatch(part)
        if not match:
            raise SetError(f"--set {key}: {part!r} is not a key such as node_pools[0]")
        steps.append(match.group(1))
        for index in re.findall(r"\[([^\]]+)\]", match.group(2)):
            steps.append(int(index) if index.lstrip("-").isdigit() else index)
    return steps


def set_key(document: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` (dotted, with [index] or [name]) in ``document`` in place."""
    steps = _steps(key)
    node: Any = document
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        where = key if last else ".".join(str(s) for s in steps[: i + 1])
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                size = len(node) if isinstance(node, list) else 0
                raise SetError(f"--set {key}: no item [{step}] ({size} items)")
            if last:
                node[step] = value
            else:
                node = node[step]
        elif isinstance(node, list):
            named = [item for item in node if isinstance(item, dict) and item.get("name") == step]
            if not named:
                names = [str(item.get("name")) for item in node if isinstance(item, dict)]
                raise SetError(
                    f"--set {key}: no item named {step!r} (known: {', '.join(names) or 'none'})"
                )
            if last:
                node[node.index(named[0])] = value
            else:
                node = named[0]
        elif isinstance(node, dict):
            if last:
                node[step] = value
            else:
                if step not in node or node[step] is None:
                    node[step] = [] if isinstance(steps[i + 1], int) else {}
                node = node[step]
        else:
            raise SetError(f"--set {key}: {where} is not a mapping or a list")


def switch_cni(document: dict[str, Any], cni: str) -> None:
    """Make every cluster use ``cni``, keeping what the mode takes and dropping what it
    does not: pod subnets (a mode with them needs one on the cluster or on every pool),
    a pod CIDR (a mode that takes one and finds none gets its default), and pools'
    allocation modes the mode does not offer."""
    if cni not in simulated_modes():
        raise SetError(f"--cni: unknown mode {cni!r}; one of {', '.join(simulated_modes())}")
    spec = MODES[cni]
    # The pools the timeline adds switch with their cluster.
    later: dict[Any, list[dict[str, Any]]] = {}
    for name, pool, _ in added_pool_documents(document):
        later.setdefault(name, []).append(pool)
    for c, cluster in enumerate(document.get("clusters") or []):
        if not isinstance(cluster, dict):
            continue
        cluster["cni"] = cni
        pools = [p for p in cluster.get("node_pools") or [] if isinstance(p, dict)]
        pools += later.get(cluster.get("name"), [])
        if not spec.pod_cidr:
            cluster.pop("pod_cidr", None)
        for pool in pools:
            if pool.get("pod_ip_allocation") not in spec.pool_allocations:
                pool.pop("pod_ip_allocation", None)
            if spec.pod_addresses is not Space.NODE_SUBNET:
                pool.pop("host_network_addons", None)  # nothing pre-allocated to leave out
        if not spec.pod_subnet:
            cluster.pop("pod_subnet", None)
            for pool in pools:
                pool.pop("pod_subnet", None)
        elif not cluster.get("pod_subnet") and not all(p.get("pod_subnet") for p in pools):
            raise SetError(
                f"--cni {cni}: clusters[{c}] has no pod subnet; set one with "
                f"--set clusters[{c}].pod_subnet=NAME"
            )


def apply_settings(
    document: dict[str, Any], settings: dict[str, Any], cni: str | None = None
) -> dict[str, Any]:
    """A copy of ``document`` with each key set, then ``cni``: a key one mode needs
    (``pod_subnet``, ``pod_cidr``) can be set for every variant, and the modes that take
    no such key drop it."""
    doc = copy.deepcopy(document)
    for key, value in settings.items():
        set_key(doc, key, value)
    if cni is not None:
        switch_cni(doc, cni)
    return doc


def variants(cnis: list[str] | None, settings: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """Every combination, as ``{"cni": ..., key: value, ...}`` (``cni`` only if given)."""
    axes: list[tuple[str, list[Any]]] = ([("cni", cnis)] if cnis else []) + settings
    if not axes:
        return [{}]
    names = [name for name, _ in axes]
    combos = itertools.product(*(values for _, values in axes))
    return [dict(zip(names, combo, strict=True)) for combo in combos]
