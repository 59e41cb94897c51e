"""Cross-field rules of a scenario, checked the way Azure and AKS would refuse them.

Reference: reference/azure-cni.md §1 (subnets), §3 (max pods), §4 (pod subnet). Each
failure raises :class:`ScenarioError` naming the dotted field path, the value and the rule.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Name, ScenarioError, item_keys
from .input_files import InputFileError, read_bounded
from .scenario import TIMELINE_ACTIONS, Cluster, NodePool, Scenario, Workload
from .units import format_duration
from .vm_sizes import VM_SIZES, pool_allocatable

__all__ = ["MAX_LIFETIME_BYTES", "SubnetRef", "read_lifetimes", "resolve", "subnet_index"]

#: Azure's smallest and largest subnet (reference §1).
MIN_PREFIX, MAX_PREFIX = 8, 29
#: Rows of subnets.csv per subnet at most (duration / sample_every).
MAX_SAMPLES = 1_000_000
#: Lifetime CSV files larger than this are refused before they are read.
MAX_LIFETIME_BYTES = 20_000_000
#: AKS limit on nodes per cluster.
MAX_NODES_PER_CLUSTER = 5000
#: Default max pods by CNI (reference §3; the seed document's 250 for dynamic).
DEFAULT_MAX_PODS = {"traditional": 30, "dynamic": 250}


@dataclass(frozen=True)
class SubnetRef:
    """Where a subnet is declared."""

    vnet: str
    vnet_index: int
    index: int
    network: ipaddress.IPv4Network


def subnet_index(scenario: Scenario) -> dict[str, SubnetRef]:
    """Every subnet by name (names are unique across the scenario)."""
    out: dict[str, SubnetRef] = {}
    for v, vnet in enumerate(scenario.network.vnets):
        for s, subnet in enumerate(vnet.subnets):
            out[subnet.name] = SubnetRef(vnet.name, v, s, ipaddress.IPv4Network(subnet.cidr))
    return out


def _choices(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(repr(n) for n in names) if names else "none"


def _unknown(kind: str, name: str, names: list[str], path: str) -> ScenarioError:
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {_choices(names)}"
    return ScenarioError(f"no {kind} named {name!r}{hint}", path=path)


def _unique(items: list[tuple[str, str]], kind: str, *, azure: bool = False) -> None:
    """Refuse a name given twice; ``azure``: also two that differ only in case, as Azure
    refuses them (its resource names are case-insensitive)."""
    seen: dict[str, tuple[str, str]] = {}
    for name, path in items:
        key = name.casefold() if azure else name
        if key in seen:
            first, where = seen[key]
            if first == name:
                message = f"duplicate {kind} name {name!r} (first at {where}); names must be unique"
            else:
                message = (
                    f"{kind} name {name!r} differs only in case from {first!r} (at {where}); "
                    "Azure names are case-insensitive, so they must differ in more than case"
                )
            raise ScenarioError(message, path=path)
        seen[key] = (name, path)


#: Ranges Azure refuses in a VNet's address space (Azure Virtual Network FAQ, "What
#: address ranges can I use in my VNets?"); a space overlapping one is refused.
AZURE_REFUSED_RANGES = [
    (ipaddress.IPv4Network("224.0.0.0/4"), "multicast"),
    (ipaddress.IPv4Network("255.255.255.255/32"), "broadcast"),
    (ipaddress.IPv4Network("127.0.0.0/8"), "loopback"),
    (ipaddress.IPv4Network("169.254.0.0/16"), "link-local"),
    (ipaddress.IPv4Network("168.63.129.16/32"), "Azure's internal DNS"),
]


def _check_network(scenario: Scenario) -> None:
    exhaustion = scenario.network.exhaustion
    if exhaustion.lower_percent >= exhaustion.upper_percent:
        raise ScenarioError(
            "must be below upper_percent "
            f"({exhaustion.upper_percent:g}) so that the flag has hysteresis",
            path="network.exhaustion.lower_percent",
            value=exhaustion.lower_percent,
        )
    vnets = scenario.network.vnets
    keys = item_keys(vnets)
    where = {
        (i, j): f"network.vnets[{keys[i]}].subnets[{key}]"
        for i, v in enumerate(vnets)
        for j, key in enumerate(item_keys(v.subnets))
    }
    _unique(
        [(v.name, f"network.vnets[{keys[i]}].name") for i, v in enumerate(vnets)],
        "VNet",
        azure=True,
    )
    _unique(
        [
            (s.name, f"{where[i, j]}.name")
            for i, v in enumerate(vnets)
            for j, s in enumerate(v.subnets)
        ],
        "subnet",
        azure=True,
    )
    for i, vnet in enumerate(vnets):
        spaces = [ipaddress.IPv4Network(c) for c in vnet.address_space]
        for a, space in enumerate(spaces):
            for refused, what in AZURE_REFUSED_RANGES:
                if space.overlaps(refused):
                    raise ScenarioError(
                        f"overlaps {refused} ({what}), which Azure does not allow in a VNet's "
                        "address space; use a private range such as 10.0.0.0/8",
                        path=f"network.vnets[{keys[i]}].address_space[{a}]",
                        value=str(space),
                    )
            for b in range(a):
                if space.overlaps(spaces[b]):
                    raise ScenarioError(
                        f"overlaps address space {spaces[b]} of the same VNet",
                        path=f"network.vnets[{keys[i]}].address_space[{a}]",
                        value=str(space),
                    )
        nets: list[ipaddress.IPv4Network] = []
        for j, subnet in enumerate(vnet.subnets):
            path = f"{where[i, j]}.cidr"
            net = ipaddress.IPv4Network(subnet.cidr)
            if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
                raise ScenarioError(
                    f"subnet size must be between /{MIN_PREFIX} and /{MAX_PREFIX}",
                    path=path,
                    value=subnet.cidr,
                )
            if not any(net.subnet_of(space) for space in spaces):
                raise ScenarioError(
                    f"lies outside the address space of VNet {vnet.name!r} "
                    f"({', '.join(map(str, spaces))})",
                    path=path,
                    value=subnet.cidr,
                )
            for k, other in enumerate(nets):
                if net.overlaps(other):
                    raise ScenarioError(
                        f"overlaps subnet {vnet.subnets[k].name!r} ({other})",
                        path=path,
                        value=subnet.cidr,
                    )
            nets.append(net)


def _resolve_pool(
    cluster: Cluster, c: Name | int, pool: NodePool, p: Name | int, subnets: dict[str, SubnetRef]
) -> NodePool:
    path = f"clusters[{c}].node_pools[{p}]"
    if pool.node_subnet not in subnets:
        raise _unknown("subnet", pool.node_subnet, list(subnets), f"{path}.node_subnet")
    update: dict[str, object] = {}
    if cluster.cni == "traditional":
        if pool.pod_subnet is not None:
            raise ScenarioError(
                "a pod subnet needs cni: dynamic; traditional Azure CNI takes pod IPs from "
                "the node subnet",
                path=f"{path}.pod_subnet",
                value=pool.pod_subnet,
            )
    else:
        pod_subnet = pool.pod_subnet or cluster.pod_subnet
        if pod_subnet is None:
            raise ScenarioError(
                "cluster uses cni: dynamic, so every node pool needs a pod subnet (set it "
                "on the pool or the cluster); one cluster cannot mix CNI types",
                path=f"{path}.pod_subnet",
            )
        where = f"{path}.pod_subnet" if pool.pod_subnet else f"clusters[{c}].pod_subnet"
        if pod_subnet not in subnets:
            raise _unknown("subnet", pod_subnet, list(subnets), where)
        if pod_subnet == pool.node_subnet:
            raise ScenarioError(
                "the pod subnet must be a different subnet from the node subnet",
                path=where,
                value=pod_subnet,
            )
        node_vnet = subnets[pool.node_subnet].vnet
        if subnets[pod_subnet].vnet != node_vnet:
            raise ScenarioError(
                f"pod subnet is in VNet {subnets[pod_subnet].vnet!r} but the cluster's "
                f"nodes are in VNet {node_vnet!r}; a pod subnet must be in the cluster's VNet",
                path=where,
                value=pod_subnet,
            )
        update["pod_subnet"] = pod_subnet
    max_pods = pool.max_pods if pool.max_pods is not None else DEFAULT_MAX_PODS[cluster.cni]
    if pool.count > 0 and max_pods * pool.count < 30:
        raise ScenarioError(
            f"max pods {max_pods} × {pool.count} nodes leaves room for fewer than 30 pods; "
            "AKS allows max pods below 30 only when the pool has room for at least 30 pods",
            path=f"{path}.max_pods",
            value=max_pods,
        )
    if pool.system_pods_per_node > max_pods:
        raise ScenarioError(
            f"more system pods per node than max pods ({max_pods})",
            path=f"{path}.system_pods_per_node",
            value=pool.system_pods_per_node,
        )
    if pool.vm_size is not None:
        if pool.allocatable is not None:
            raise ScenarioError("give vm_size or allocatable, not both", path=f"{path}.allocatable")
        if pool.vm_size not in VM_SIZES:
            close = difflib.get_close_matches(pool.vm_size, list(VM_SIZES), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; or give allocatable"
            raise ScenarioError(
                f"not in the built-in table of VM sizes{hint}",
                path=f"{path}.vm_size",
                value=pool.vm_size,
            )
    if pool.autoscaler is not None:
        bounds = pool.autoscaler
        if bounds.min > bounds.max:
            raise ScenarioError(
                f"must not exceed max ({bounds.max})",
                path=f"{path}.autoscaler.min",
                value=bounds.min,
            )
        if not bounds.min <= pool.count <= bounds.max:
            raise ScenarioError(
                f"must lie within the autoscaler's bounds {bounds.min}..{bounds.max}",
                path=f"{path}.count",
                value=pool.count,
            )
    update["max_pods"] = max_pods
    return pool.model_copy(update=update)


def _resolve_cluster(cluster: Cluster, c: Name | int, subnets: dict[str, SubnetRef]) -> Cluster:
    if cluster.cni == "traditional" and cluster.pod_subnet is not None:
        raise ScenarioError(
            "a pod subnet needs cni: dynamic; traditional Azure CNI takes pod IPs from the "
            "node subnet",
            path=f"clusters[{c}].pod_subnet",
            value=cluster.pod_subnet,
        )
    keys = item_keys(cluster.node_pools)
    _unique(
        [
            (p.name, f"clusters[{c}].node_pools[{keys[i]}].name")
            for i, p in enumerate(cluster.node_pools)
        ],
        "node pool",
    )
    pools = [
        _resolve_pool(cluster, c, pool, keys[p], subnets)
        for p, pool in enumerate(cluster.node_pools)
    ]
    vnets = {subnets[p.node_subnet].vnet for p in pools}
    if len(vnets) > 1:
        first = subnets[pools[0].node_subnet].vnet
        for p, pool in enumerate(pools):
            if subnets[pool.node_subnet].vnet != first:
                raise ScenarioError(
                    f"node subnet is in VNet {subnets[pool.node_subnet].vnet!r} but the "
                    f"cluster's first node pool is in VNet {first!r}; a cluster lives in one VNet",
                    path=f"clusters[{c}].node_pools[{keys[p]}].node_subnet",
                    value=pool.node_subnet,
                )
    nodes = sum(p.count for p in pools)
    if nodes > MAX_NODES_PER_CLUSTER:
        raise ScenarioError(
            f"{nodes} nodes at start; an AKS cluster holds at most {MAX_NODES_PER_CLUSTER}",
            path=f"clusters[{c}].node_pools",
        )
    return cluster.model_copy(update={"node_pools": pools})


_KIND_FIELDS = {
    "deployment": {"replicas", "ramp", "daily", "node_pool"},
    "job": {"rate", "lifetime", "start", "stop", "node_pool"},
    "daemonset": {"node_pools"},
}
_KIND_ONLY = {"replicas", "ramp", "daily", "rate", "lifetime", "start", "stop", "node_pool",
              "node_pools"}  # fmt: skip


def _resolve_workload(
    w: Workload, i: Name | int, clusters: dict[str, Cluster], base: Path
) -> Workload:
    path = f"workloads[{i}]"
    if w.cluster not in clusters:
        raise _unknown("cluster", w.cluster, list(clusters), f"{path}.cluster")
    cluster = clusters[w.cluster]
    pools = [p.name for p in cluster.node_pools]
    # Keys that differ from their default: a resolved scenario spells every key out.
    given = {k for k in _KIND_ONLY if getattr(w, k) != Workload.model_fields[k].default}
    if w.kind == "deployment" and "replicas" in given:
        given.discard("replicas")
    for key in sorted(given - _KIND_FIELDS[w.kind]):
        kinds = [k for k, keys in _KIND_FIELDS.items() if key in keys]
        raise ScenarioError(
            f"applies to kind {' or '.join(kinds)}, not {w.kind}",
            path=f"{path}.{key}",
            value=w.lifetime.distribution if key == "lifetime" and w.lifetime else getattr(w, key),
        )
    if w.node_pool is not None and w.node_pool not in pools:
        raise _unknown(
            f"node pool in cluster {w.cluster!r}", w.node_pool, pools, f"{path}.node_pool"
        )
    for j, name in enumerate(w.node_pools or []):
        if name not in pools:
            raise _unknown(
                f"node pool in cluster {w.cluster!r}", name, pools, f"{path}.node_pools[{j}]"
            )
    update: dict[str, Any] = {}
    if w.kind == "deployment":
        if w.ramp is not None and w.daily is not None:
            raise ScenarioError(
                "a deployment takes either ramp or daily, not both", path=f"{path}.daily"
            )
        if w.daily is not None:
            times = [p.at for p in w.daily]
            if times != sorted(set(times)):
                raise ScenarioError(
                    "entries must be in increasing time of day, each time once",
                    path=f"{path}.daily",
                )
        if w.replicas is None:
            update["replicas"] = w.ramp.start if w.ramp is not None else 1
    elif w.kind == "job":
        if w.rate is None or w.lifetime is None:
            missing = "rate" if w.rate is None else "lifetime"
            raise ScenarioError(
                "a job needs a rate (Poisson arrivals) and a lifetime", path=f"{path}.{missing}"
            )
        if w.stop is not None and w.stop <= w.start:
            raise ScenarioError(
                f"must be after start ({format_duration(w.start)})",
                path=f"{path}.stop",
                value=format_duration(w.stop),
            )
        if w.lifetime.distribution == "empirical":
            update["lifetime"] = _resolve_empirical(w.lifetime, base, f"{path}.lifetime")
    if w.requests is not None:
        targets = [p for p in cluster.node_pools if w.node_pool in (None, p.name)]
        if w.kind == "daemonset":
            targets = [p for p in cluster.node_pools if p.name in (w.node_pools or pools)]
        room = [pool_allocatable(p) for p in targets]
        if not any(
            (r[0] is None or w.requests.cpu <= r[0]) and (r[1] is None or w.requests.memory <= r[1])
            for r in room
        ):
            raise ScenarioError(
                "requests more than any node of its pools can offer ("
                + ", ".join(
                    f"{p.name}: {r[0]}m CPU, {r[1]}Mi"
                    for p, r in zip(targets, room, strict=True)
                    if r[0] is not None
                )
                + " allocatable)",
                path=f"{path}.requests",
            )
    return w.model_copy(update=update) if update else w


def _resolve_empirical(lifetime: Any, base: Path, path: str) -> Any:
    """An empirical lifetime file must lie in the scenario's folder and hold the column."""
    file = Path(lifetime.file)
    try:
        target = (base / file).resolve()
        inside = not file.is_absolute() and target.is_relative_to(base.resolve())
        exists = inside and target.exists()
    except (OSError, ValueError):  # a NUL byte, a name too long for the system
        raise ScenarioError(
            "is not a valid file name", path=f"{path}.file", value=lifetime.file
        ) from None
    if not inside:
        raise ScenarioError(
            "must be a path inside the scenario's folder", path=f"{path}.file", value=str(file)
        )
    if not exists:
        raise ScenarioError(
            f"no such file next to the scenario ({target})", path=f"{path}.file", value=str(file)
        )
    read_lifetimes(target, lifetime.column, path)
    return lifetime  # the path stays relative; the scenario remembers its folder


def read_lifetimes(file: Path, column: str, path: str = "lifetime") -> list[float]:
    """The positive durations (seconds) in ``column`` of a CSV file of at most
    :data:`MAX_LIFETIME_BYTES` (a byte-order mark before the header is allowed)."""
    import csv
    import io

    try:
        raw = read_bounded(file, MAX_LIFETIME_BYTES, "lifetime file")
    except InputFileError as exc:
        raise ScenarioError(f"{file.name} {exc}", path=f"{path}.file") from None
    try:
        # utf-8-sig: spreadsheets (Excel) start a UTF-8 CSV with a byte-order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{file.name} is not UTF-8 text (bad byte at offset {exc.start})", path=f"{path}.file"
        ) from None
    try:
        with io.StringIO(text, newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or column not in reader.fieldnames:
                known = ", ".join(reader.fieldnames or []) or "none"
                raise ScenarioError(
                    f"no column {column!r} in {file.name} (columns: {known})",
                    path=f"{path}.column",
                    value=column,
                )
            values = []
            for row, record in enumerate(reader, start=2):
                text = (record.get(column) or "").strip()
                if not text:
                    continue
                try:
                    value = float(text)
                except ValueError:
                    raise ScenarioError(
                        f"{file.name} line {row}: not a number of seconds",
                        path=f"{path}.column",
                        value=text,
                    ) from None
                if not math.isfinite(value) or value <= 0:
                    raise ScenarioError(
                        f"{file.name} line {row}: durations must be positive",
                        path=f"{path}.column",
                        value=text,
                    )
                values.append(value)
    except csv.Error as exc:
        raise ScenarioError(
            f"{file.name} is not a valid CSV file ({exc})", path=f"{path}.file"
        ) from None
    if not values:
        raise ScenarioError(
            f"column {column!r} of {file.name} holds no durations", path=f"{path}.column"
        )
    return values


def _check_workloads_and_timeline(scenario: Scenario, base: Path) -> Scenario:
    clusters = {c.name: c for c in scenario.clusters}
    keys = item_keys(scenario.workloads)
    _unique(
        [(w.name, f"workloads[{keys[i]}].name") for i, w in enumerate(scenario.workloads)],
        "workload",
    )
    resolved = [
        _resolve_workload(w, keys[i], clusters, base) for i, w in enumerate(scenario.workloads)
    ]
    kinds = {w.name: w.kind for w in resolved}
    workloads = list(kinds)
    for i, event in enumerate(scenario.timeline):
        path = f"timeline[{i}]"
        if event.at > scenario.duration:
            raise ScenarioError(
                f"is after the end of the run (duration {format_duration(scenario.duration)})",
                path=f"{path}.at",
                value=format_duration(event.at),
            )
        actions = event.actions()
        if len(actions) != 1:
            raise ScenarioError(
                f"needs exactly one action: {', '.join(TIMELINE_ACTIONS)}",
                path=path,
                value=", ".join(actions) or "no action",
            )
        (action,) = actions
        act = getattr(event, action)
        if action in ("scale_node_pool", "upgrade_node_pool"):
            if act.cluster not in clusters:
                raise _unknown("cluster", act.cluster, list(clusters), f"{path}.{action}.cluster")
            pools = [p.name for p in clusters[act.cluster].node_pools]
            if act.node_pool not in pools:
                raise _unknown(
                    f"node pool in cluster {act.cluster!r}",
                    act.node_pool,
                    pools,
                    f"{path}.{action}.node_pool",
                )
            pool = clusters[act.cluster].node_pools[pools.index(act.node_pool)]
            if action == "scale_node_pool" and pool.autoscaler is not None:
                raise ScenarioError(
                    f"node pool {act.node_pool!r} has the cluster autoscaler enabled, and AKS "
                    "refuses a manual scale of such a pool: change its autoscaler min and max "
                    "instead",
                    path=f"{path}.{action}.node_pool",
                    value=act.node_pool,
                )
        else:
            if act.workload not in workloads:
                raise _unknown("workload", act.workload, workloads, f"{path}.{action}.workload")
            if kinds[act.workload] != "deployment":
                raise ScenarioError(
                    f"workload {act.workload!r} is a {kinds[act.workload]}; only deployments "
                    "can be scaled or rolled out",
                    path=f"{path}.{action}.workload",
                    value=act.workload,
                )
        if action == "upgrade_node_pool" and _surge_zero(act.max_surge, 0):
            raise ScenarioError(
                "must be at least 1 node or a percentage above 0%",
                path=f"{path}.{action}.max_surge",
                value=act.max_surge,
            )
        if action == "rollout_workload" and _surge_zero(act.max_surge, act.max_unavailable):
            raise ScenarioError(
                "max_surge and max_unavailable cannot both be 0", path=f"{path}.{action}"
            )
    return scenario.model_copy(update={"workloads": resolved})


def _surge_zero(surge: int | str, unavailable: int | str) -> bool:
    def zero(v: int | str) -> bool:
        return (v == 0) if isinstance(v, int) else float(v.rstrip("%")) == 0

    return zero(surge) and zero(unavailable)


def _check_node_limit_over_time(scenario: Scenario) -> None:
    """A cluster stays within the AKS node limit after every timeline scale."""
    counts = {c.name: {p.name: p.count for p in c.node_pools} for c in scenario.clusters}
    order = sorted(range(len(scenario.timeline)), key=lambda i: scenario.timeline[i].at)
    for i in order:
        act = scenario.timeline[i].scale_node_pool
        if act is None:
            continue
        pools = counts[act.cluster]
        pools[act.node_pool] = act.count
        if sum(pools.values()) > MAX_NODES_PER_CLUSTER:
            raise ScenarioError(
                f"takes cluster {act.cluster!r} to {sum(pools.values())} nodes; an AKS "
                f"cluster holds at most {MAX_NODES_PER_CLUSTER}",
                path=f"timeline[{i}].scale_node_pool.count",
                value=act.count,
            )


def resolve(scenario: Scenario, base: Path | None = None) -> Scenario:
    """Check every cross-field rule and return the scenario with defaults filled in.

    ``base`` is the scenario file's folder: files a scenario names are resolved there."""
    base = base if base is not None else Path(scenario.folder or Path.cwd())
    samples = scenario.duration / scenario.sample_every
    if samples > MAX_SAMPLES:
        raise ScenarioError(
            f"gives {samples:,.0f} samples over the run's {format_duration(scenario.duration)}; "
            f"at most {MAX_SAMPLES:,}: sample less often",
            path="sample_every",
            value=format_duration(scenario.sample_every),
        )
    _check_network(scenario)
    keys = item_keys(scenario.clusters)
    _unique(
        [(c.name, f"clusters[{keys[i]}].name") for i, c in enumerate(scenario.clusters)],
        "cluster",
        azure=True,
    )
    subnets = subnet_index(scenario)
    clusters = [_resolve_cluster(c, keys[i], subnets) for i, c in enumerate(scenario.clusters)]
    resolved = scenario.model_copy(update={"clusters": clusters})
    resolved = _check_workloads_and_timeline(resolved, base)
    _check_node_limit_over_time(resolved)
    resolved._folder = str(base.resolve())  # not part of the document: not serialised
    return resolved
