"""A run's ``summary.json``: per-subnet figures, nodes, pods, waits and upgrades, and the
flat rows that tables across many runs are made of."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from simulator.model.world import World

__all__ = ["SWEEP_SUBNET_FIGURES", "flatten", "subnet_rows", "summarize"]


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    arr = np.asarray(values, dtype=float)
    return {
        "p50": round(float(np.percentile(arr, 50)), 3),
        "p95": round(float(np.percentile(arr, 95)), 3),
        "max": round(float(arr.max()), 3),
    }


def summarize(world: World, pods: pd.DataFrame, changes: dict[str, np.ndarray]) -> dict[str, Any]:
    """The summary of a finished world, from its pod frame and change points."""
    end = world.scenario.duration
    subnets = {}
    for s in world.used_subnets():
        subnets[s.name] = {
            "cidr": s.pool.cidr,
            "vnet": s.vnet,
            "capacity": s.capacity,
            "reserved": len(s.reserved),
            "peak_allocated": s.peak_allocated,
            "peak_assigned": s.peak_assigned,
            "final_allocated": s.allocated,
            "final_assigned": s.assigned,
            "min_free": s.capacity - s.peak_allocated,
            "full_at_s": s.full_at_s,
            "refused_requests": s.full_events,
            "exhausted_count": sum(flag for _, flag in s.exhaustion_flips),
            "exhausted_s": round(s.exhausted_seconds(end), 3),
            "exhausted_at_end": s.exhausted,
            "mean_allocated": round(_time_mean(changes[s.name], 1, end), 3),
            "mean_assigned": round(_time_mean(changes[s.name], 2, end), 3),
            "holders": {holder: s.peak_held.get(holder, 0) for holder in sorted(s.held_by)},
        }
    nodes = [n for c in world.clusters.values() for n in c.nodes]
    states = pods["state"].value_counts()
    waits = pods["ip_wait_s"].dropna().tolist()
    return {
        "scenario": world.scenario.name,
        "seed": world.seed,
        "duration_s": end,
        "subnets": subnets,
        "nodes": {
            "created": len(nodes),
            "ready": sum(n.ready_s is not None and not n.failed for n in nodes),
            "failed": sum(n.failed for n in nodes),
            "stuck": sum(
                n.ready_s is not None and n.first_ips_s is None and not n.failed for n in nodes
            ),
            "first_batch_refused": sum(n.first_batch_refused for n in nodes),
            "alive_at_end": sum(n.alive for n in nodes),
        },
        "operations_refused": sum(e.kind == "preflight_refused" for e in world.recorder.events),
        "pods": {
            "created": len(pods),
            "running_at_end": int(states.get("running", 0)),
            "pending_at_end": int(states.get("pending", 0)),
            "waiting_for_ip_at_end": int(states.get("waiting", 0)),
            "waited_for_ip": sum(w > 0 for w in waits),
            "ip_wait_s": _percentiles(waits),
        },
        "upgrades": _upgrades(world, changes),
    }


def _time_mean(series: np.ndarray, column: int, end: float) -> float:
    """Time-weighted mean of a change-point series (rows of time, values) over [0, end]."""
    if end <= 0:
        return float(series[-1, column]) if len(series) else 0.0
    starts = np.minimum(series[:, 0], end)
    stops = np.append(starts[1:], end)
    # fsum: an exact sum, whatever the order (a long run has millions of change points).
    return math.fsum((series[:, column] * (stops - starts)).tolist()) / end


def _peak_between(changes: np.ndarray, start: float, end: float) -> int:
    """Most addresses allocated at any moment in [start, end], from change points."""
    times, allocated = changes[:, 0], changes[:, 1]
    first = int(np.searchsorted(times, start, side="right")) - 1  # the state at ``start``
    stop = int(np.searchsorted(times, end, side="right"))
    at_start = allocated[first] if first >= 0 else 0
    within = allocated[first + 1 : stop]
    return int(max(at_start, within.max() if len(within) else 0))


def _upgrades(world: World, changes: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Each upgrade with the peak addresses allocated in its pool's subnets meanwhile."""
    out = []
    for cluster in world.clusters.values():
        for record in cluster.upgrades:
            pool = cluster.pools[str(record["node_pool"])]
            start = float(record["start_s"])  # type: ignore[arg-type]
            end = record["end_s"] if record["end_s"] is not None else world.scenario.duration
            names = [pool.node_subnet] + ([pool.pod_subnet] if pool.pod_subnet else [])
            peaks = {
                name: _peak_between(changes[name], start, float(end))  # type: ignore[arg-type]
                for name in names
            }
            out.append({**record, "peak_allocated": peaks})
    return out


#: The per-subnet figures a flat row of a run holds, as ``<subnet>.<figure>``.
SWEEP_SUBNET_FIGURES = (
    "capacity",
    "peak_allocated",
    "mean_allocated",
    "peak_assigned",
    "min_free",
    "full_at_s",
    "refused_requests",
    "exhausted_s",
)


def flatten(summary: dict[str, Any]) -> dict[str, Any]:
    """A run's summary as one flat row: ``<subnet>.<figure>``, ``nodes.<count>``,
    ``pods.<figure>`` and ``operations_refused`` (``sweep.csv``, ``replicas.csv``)."""
    row: dict[str, Any] = {}
    for name, sub in summary["subnets"].items():
        for key in SWEEP_SUBNET_FIGURES:
            row[f"{name}.{key}"] = sub[key]
    for key, value in summary["nodes"].items():
        row[f"nodes.{key}"] = value
    pods = summary["pods"]
    for key in ("created", "running_at_end", "waiting_for_ip_at_end", "waited_for_ip"):
        row[f"pods.{key}"] = pods[key]
    for key, value in pods["ip_wait_s"].items():
        row[f"pods.ip_wait_{key}_s"] = value
    row["operations_refused"] = summary.get("operations_refused", 0)
    return row


def subnet_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """A run's summary as one row per subnet, with the run's node and pod figures
    beside each (``comparison.csv``)."""
    pods = summary["pods"]
    rows = []
    for name, sub in summary["subnets"].items():
        assigned = sub["mean_assigned"]
        rows.append(
            {
                "subnet": name,
                "capacity": sub["capacity"],
                "peak_allocated": sub["peak_allocated"],
                "mean_allocated": sub["mean_allocated"],
                "peak_assigned": sub["peak_assigned"],
                "mean_assigned": assigned,
                "ips_per_pod": round(sub["mean_allocated"] / assigned, 3) if assigned else None,
                "nodes_failed": summary["nodes"]["failed"],
                "operations_refused": summary.get("operations_refused", 0),
                "pods_waited": pods["waited_for_ip"],
                "p95_wait_s": pods["ip_wait_s"]["p95"],
                "max_wait_s": pods["ip_wait_s"]["max"],
            }
        )
    return rows
