"""``ipsim calibrate``: a run's per-node pools against a later NNC export of the cluster.

Each node's requested addresses (``spec.requestedIPCount``) and allocated secondary
addresses (``status.networkContainers[0].ipAssignments``, every address of a block)
in the export are set against the same figures of the run's ``nnc.csv`` at a moment
(default: the end). Real and simulated nodes are paired by node pool (the ``aks-<pool>-``
of a node's name) and position: the pool's nodes sorted by name against its nodes alive
at that moment in creation order. Pools or nodes on one side only are reported too.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from simulator.errors import InputError
from simulator.scenario.importer.exports import NodeNetworkConfig

__all__ = ["CALIBRATION_COLUMNS", "calibrate", "describe_calibration", "is_calibration_table"]

CALIBRATION_COLUMNS = [
    "node_pool",
    "node",
    "simulated_node",
    "requested",
    "simulated_requested",
    "requested_diff",
    "allocated",
    "simulated_allocated",
    "allocated_diff",
]


def _pool(node: str) -> str:
    parts = node.split("-")
    return parts[1] if len(parts) > 2 and parts[0] == "aks" else ""


def _frame(results: Path, name: str) -> pd.DataFrame:
    file = results / name
    if not file.is_file():
        raise InputError(f"no {name}: not an ipsim results folder", source=str(results))
    return pd.read_csv(file)


def calibrate(
    results: Path, nncs: list[NodeNetworkConfig], at: float | None = None
) -> pd.DataFrame:
    """One row per node of either side: real and simulated requested and allocated."""
    nnc = _frame(results, "nnc.csv")
    nodes = _frame(results, "nodes.csv")
    end = float(nnc["time_s"].max()) if at is None and len(nnc) else (at or 0.0)
    alive = nodes[
        (nodes["created_s"] <= end) & ~(nodes["deleted_s"] <= end) & (nodes["status"] != "failed")
    ]
    last = nnc[nnc["time_s"] <= end].groupby("node").tail(1).set_index("node")
    sim: dict[str, list[str]] = {}
    for _, row in alive.iterrows():
        sim.setdefault(str(row["node_pool"]), []).append(str(row["node"]))
    real: dict[str, list[NodeNetworkConfig]] = {}
    for record in sorted(nncs, key=lambda n: n.node):
        real.setdefault(_pool(record.node), []).append(record)
    rows = []
    for pool in sorted(set(sim) | set(real)):
        ours, theirs = sim.get(pool, []), real.get(pool, [])
        for k in range(max(len(ours), len(theirs))):
            mine = ours[k] if k < len(ours) else ""
            record = theirs[k] if k < len(theirs) else None
            state = last.loc[mine] if mine and mine in last.index else None
            requested = float(state["requested_ips"]) if state is not None else math.nan
            allocated = float(state["secondary_ips"]) if state is not None else math.nan
            rows.append(
                {
                    "node_pool": pool,
                    "node": record.node if record else "",
                    "simulated_node": mine,
                    "requested": record.requested if record else math.nan,
                    "simulated_requested": requested,
                    "requested_diff": requested - record.requested if record else math.nan,
                    "allocated": record.allocated if record else math.nan,
                    "simulated_allocated": allocated,
                    "allocated_diff": allocated - record.allocated if record else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)


def describe_calibration(table: pd.DataFrame, at: float | None) -> str:
    """The per-pool totals and the nodes that differ, as ``ipsim calibrate`` prints them."""
    when = "the end of the run" if at is None else f"t={at:g}s"
    lines = [f"simulated (at {when}) against the NNC export, per node pool:"]
    for pool, rows in table.groupby("node_pool", sort=True):
        paired = rows[(rows["node"] != "") & (rows["simulated_node"] != "")]
        lines.append(
            f"{pool or '(no pool)'}: {int((rows['node'] != '').sum())} nodes in the export, "
            f"{int((rows['simulated_node'] != '').sum())} simulated; requested "
            f"{rows['requested'].sum():g} vs {rows['simulated_requested'].sum():g}, allocated "
            f"{rows['allocated'].sum():g} vs {rows['simulated_allocated'].sum():g}; mean "
            f"|difference| per paired node: requested {paired['requested_diff'].abs().mean():.1f}, "
            f"allocated {paired['allocated_diff'].abs().mean():.1f}"
            if len(paired)
            else f"{pool or '(no pool)'}: no node on both sides "
            f"({int((rows['node'] != '').sum())} in the export, "
            f"{int((rows['simulated_node'] != '').sum())} simulated)"
        )
    both = (table["node"] != "") & (table["simulated_node"] != "")
    differ = table[both & ((table["requested_diff"] != 0) | (table["allocated_diff"] != 0))]
    if len(differ):
        lines.append("nodes that differ (real -> simulated):")
        for _, row in differ.iterrows():
            lines.append(
                f"  {row['node']} ({row['simulated_node'] or 'none'}): requested "
                f"{row['requested']:g} -> {row['simulated_requested']:g}, allocated "
                f"{row['allocated']:g} -> {row['simulated_allocated']:g}"
            )
    else:
        lines.append("every paired node matches")
    return "\n".join(lines)


def is_calibration_table(head: bytes) -> bool:
    """Whether a file's first bytes are a table ``ipsim calibrate -o`` wrote: its header
    is exactly :data:`CALIBRATION_COLUMNS` (so ``--force`` may replace it)."""
    return head.split(b"\n", 1)[0].rstrip(b"\r") == ",".join(CALIBRATION_COLUMNS).encode()
