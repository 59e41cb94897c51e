"""Charts drawn from a results folder on disk (``ipsim plot``)."""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

from simulator.charts.common import is_ipsim_chart
from simulator.charts.run import plot_nnc
from simulator.core.modes import MODES
from simulator.core.pool_monitor import Scaler, ScalerV2
from simulator.results.folders import check_file_target, write_file
from simulator.results.metrics import MetricsError, read_results, results_folder
from simulator.scenario.loader import read_document

__all__ = ["default_output", "plot_node", "pool_thresholds"]

#: How many node names an unknown ``--node`` lists.
_LISTED = 12


def pool_thresholds(cluster: dict[str, Any], max_ips: int) -> tuple[float, float] | None:
    """The free counts at which a node's CNS pool monitor scales up and releases, from
    a resolved cluster; None for a mode without a CNS pool."""
    mode = MODES.get(str(cluster.get("cni")))
    if mode is None or not mode.cns_pool:
        return None
    ipam = cluster.get("ipam") or {}
    batch = int(ipam.get("batch_size", 16))
    request = int(ipam.get("request_threshold_percent", 50))
    if ipam.get("pool_monitor", "v1") == "v2":
        # v2 targets B·ceil(buffer + demand/B): up past B·buffer free, down at B·(1+buffer).
        scaler = ScalerV2(batch, request, max_ips).clamped()
        return scaler.batch * scaler.buffer, scaler.batch * (1 + scaler.buffer)
    scaler = Scaler(batch, request, int(ipam.get("release_threshold_percent", 150)), max_ips)
    scaler = scaler.clamped()
    return scaler.min_free, scaler.max_free


def default_output(folder: str | os.PathLike[str], node: str) -> Path:
    """``FOLDER/nnc-NODE.png``, with NODE made a plain file name: a node name read from
    data never puts the chart outside the folder (no separator, no ``..`` of its own)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", node)[:100] or "_"
    return Path(folder) / f"nnc-{safe}.png"


def _unknown_node(folder: Path, node: str, names: list[str]) -> MetricsError:
    close = difflib.get_close_matches(node, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    shown = ", ".join(names[:_LISTED]) + (f" and {len(names) - _LISTED} more" if
                                          len(names) > _LISTED else "")  # fmt: skip
    if not names:
        return MetricsError(f"{folder}: --node: no node named {node!r}; nnc.csv has no nodes")
    return MetricsError(
        f"{folder}: --node: no node named {node!r}; {hint}nodes in nnc.csv: {shown}"
    )


def plot_node(
    folder: str | os.PathLike[str],
    node: str,
    output: str | os.PathLike[str],
    *,
    force: bool = False,
) -> Path:
    """Draw ``node``'s pool from the folder's nnc.csv into ``output`` (PNG, atomically)."""
    folder, target = results_folder(folder), Path(output)
    check_file_target(target, force=force, ours=is_ipsim_chart)
    results = read_results(folder, nodes_optional=True)
    nnc = results.nnc
    rows = nnc[nnc["node"] == node]
    if rows.empty:
        raise _unknown_node(folder, node, list(dict.fromkeys(nnc["node"])))
    duration = results.duration
    end = results.deleted.get(node, duration)  # the pool ends with the node
    thresholds = None
    resolved = folder / "scenario.resolved.yaml"
    if resolved.is_file():
        scenario = read_document(resolved)
        cluster = next(
            (c for c in scenario.get("clusters") or [] if c.get("name") == rows["cluster"].iloc[0]),
            None,
        )
        if cluster is not None:
            thresholds = pool_thresholds(cluster, int(rows["max_ips"].iloc[0]))
    return write_file(
        target,
        lambda staging: plot_nnc(rows, node, duration, staging, end=end, thresholds=thresholds),
        force=force,
        ours=is_ipsim_chart,
    )
