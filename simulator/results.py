"""A run's result: frames built once from the records, the summary, and saving it."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .addressing import SubnetPool
from .folders import check_target, write_folder
from .loader import write_document
from .model.clock import collector_paused
from .scenario import Scenario

if TYPE_CHECKING:
    from .model.world import World

__all__ = ["Result", "build_result", "check_target"]

_text = SubnetPool.text


@dataclass
class Result:
    """Everything one run produced. ``save(dir)`` writes it as files."""

    scenario: Scenario
    seed: int
    summary: dict[str, Any]
    subnets: pd.DataFrame
    nnc: pd.DataFrame
    nodes: pd.DataFrame
    pods: pd.DataFrame
    events: pd.DataFrame
    holders: pd.DataFrame

    def save(self, directory: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write the results folder atomically; an existing one only with ``force``."""
        return write_folder(directory, self.write_files, force=force)

    def write_files(self, folder: Path) -> None:
        """Write every output file into ``folder`` (which exists)."""
        from .charts import plot_holders, plot_utilization

        self.subnets.to_csv(folder / "subnets.csv", index=False)
        self.nnc.to_csv(folder / "nnc.csv", index=False)
        self.nodes.to_csv(folder / "nodes.csv", index=False)
        self.pods.to_csv(folder / "pods.csv", index=False)
        self.events.to_csv(folder / "events.csv", index=False)
        self.holders.to_csv(folder / "holders.csv", index=False)
        (folder / "summary.json").write_text(json.dumps(self.summary, indent=2) + "\n")
        (folder / "scenario.resolved.yaml").write_text(write_document(self.scenario.to_document()))
        plot_utilization(
            self.subnets,
            self.events,
            f"{self.scenario.name}: subnet addresses over time (seed {self.seed})",
            folder / "utilization.png",
        )
        plot_holders(
            self.holders,
            f"{self.scenario.name}: who holds each subnet's addresses (seed {self.seed})",
            folder / "holders.png",
        )


def _grid(world: World) -> np.ndarray:
    end = world.scenario.duration
    step = world.scenario.sample_every
    # Multiples of the step strictly before the end (with float slack), then the end.
    count = math.ceil(end / step - 1e-9)
    grid = np.arange(count, dtype=float) * step
    return np.append(grid[grid < end - step * 1e-9], end)


def _holder_frame(world: World) -> pd.DataFrame:
    """Addresses each ``cluster/node pool`` holds in each used subnet, on the grid."""
    grid = _grid(world)
    parts = []
    for subnet in world.used_subnets():
        for holder in sorted(subnet.held_by):
            changes = [(t, c) for t, h, c in subnet.holder_changes if h == holder]
            times = np.array([t for t, _ in changes], dtype=float)
            counts = np.array([c for _, c in changes], dtype=np.int64)
            at = np.searchsorted(times, grid, side="right") - 1
            cluster, pool = holder.split("/", 1)
            parts.append(
                pd.DataFrame(
                    {
                        "time_s": grid,
                        "subnet": subnet.name,
                        "cluster": cluster,
                        "node_pool": pool,
                        "allocated": np.where(at >= 0, counts[np.maximum(at, 0)], 0),
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=["time_s", "subnet", "cluster", "node_pool", "allocated"])
    return pd.concat(parts, ignore_index=True)


def _changes(world: World) -> dict[str, np.ndarray]:
    """Each used subnet's change points as an array of (time, allocated, assigned)."""
    return {s.name: s.change_points() for s in world.used_subnets()}


def _subnet_frame(world: World, arrays: dict[str, np.ndarray]) -> pd.DataFrame:
    grid = _grid(world)
    parts = []
    for subnet in world.used_subnets():
        changes = arrays[subnet.name]
        idx = np.searchsorted(changes[:, 0], grid, side="right") - 1
        allocated = changes[idx, 1].astype(np.int64)
        assigned = changes[idx, 2].astype(np.int64)
        exhausted = np.zeros(len(grid), dtype=bool)
        if subnet.exhaustion_flips:
            flips = np.array(subnet.exhaustion_flips, dtype=float)
            at = np.searchsorted(flips[:, 0], grid, side="right") - 1
            exhausted = np.where(at >= 0, flips[np.maximum(at, 0), 1] > 0, False)
        parts.append(
            pd.DataFrame(
                {
                    "time_s": grid,
                    "subnet": subnet.name,
                    "cidr": subnet.pool.cidr,
                    "capacity": subnet.capacity,
                    "allocated": allocated,
                    "assigned": assigned,
                    "free": subnet.capacity - allocated,
                    "exhausted": exhausted,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _node_frame(world: World) -> pd.DataFrame:
    rows = []
    for cluster in world.clusters.values():
        for n in cluster.nodes:
            rows.append(
                {
                    "node": n.name,
                    "cluster": n.cluster,
                    "node_pool": n.pool,
                    "created_s": n.created_s,
                    "ready_s": n.ready_s,
                    "first_ips_s": n.first_ips_s,
                    "deleted_s": n.deleted_s,
                    "status": n.status,
                    "node_ip": _text(n.node_ip) if n.node_ip is not None else "",
                    "node_subnet": n.node_subnet.name,
                    "pod_subnet": (n.pod_subnet or n.node_subnet).name,
                    "max_pods": n.max_pods,
                    "peak_pods": n.peak_pods,
                    "peak_requested_ips": n.peak_requested,
                    "peak_assigned_ips": n.peak_assigned,
                }
            )
    return pd.DataFrame(rows, columns=_NODE_COLUMNS)


_NODE_COLUMNS = [
    "node", "cluster", "node_pool", "created_s", "ready_s", "first_ips_s", "deleted_s",
    "status", "node_ip", "node_subnet", "pod_subnet", "max_pods", "peak_pods",
    "peak_requested_ips", "peak_assigned_ips",
]  # fmt: skip

_POD_COLUMNS = [
    "pod", "workload", "cluster", "node_pool", "node", "ip", "created_s", "scheduled_s",
    "ip_s", "running_s", "deleted_s", "ip_wait_s", "state",
]  # fmt: skip


def _pod_frame(world: World) -> pd.DataFrame:
    end = world.scenario.duration
    pods = [p for c in world.clusters.values() for p in c.pods]
    # Addresses come back to many pods: format each distinct one once.
    addresses = np.fromiter(
        (-1 if p.ip is None else p.ip for p in pods), dtype=np.int64, count=len(pods)
    )
    distinct, which = np.unique(addresses, return_inverse=True)
    texts = np.array(["" if a < 0 else _text(int(a)) for a in distinct], dtype=object)

    def times(values: list[float | None]) -> np.ndarray:
        return np.array(values, dtype=float)  # None (never happened) becomes NaN

    # Column by column, and the derived ones with numpy: a million pods make a million
    # rows. ``ip_wait_s``: from binding to an address, or to the pod's end (or the run's)
    # if it never got one; none for pods never bound or on the host network. ``state``:
    # ``Pod.phase`` at the end.
    scheduled = times([p.scheduled_s for p in pods])
    ip_s = times([p.ip_s for p in pods])
    deleted = times([p.deleted_s for p in pods])
    running = times([p.running_s for p in pods])
    running[running > end] = np.nan  # a job's pod due to get Running after the end
    host = np.fromiter((p.host_network for p in pods), dtype=bool, count=len(pods))
    bound, has_ip, gone = ~np.isnan(scheduled), ~np.isnan(ip_s), ~np.isnan(deleted)
    stop = np.where(has_ip, ip_s, np.where(gone, deleted, end))
    state = np.select(
        [gone, ~bound, ~has_ip & ~host, np.isnan(running)],
        [np.array([p.end or "deleted" for p in pods], dtype=object), "pending", "waiting",
         "starting"],
        "running",
    )  # fmt: skip
    columns = {
        "pod": [p.name for p in pods],
        "workload": [p.workload for p in pods],
        "cluster": [p.cluster for p in pods],
        "node_pool": [p.node.pool if p.node else (p.pool or "") for p in pods],
        "node": [p.node.name if p.node else "" for p in pods],
        "ip": texts[which.reshape(-1)],
        "created_s": times([p.created_s for p in pods]),
        "scheduled_s": scheduled,
        "ip_s": ip_s,
        "running_s": running,
        "deleted_s": deleted,
        "ip_wait_s": np.where(bound & ~host, stop - scheduled, np.nan),
        "state": state,
    }
    return pd.DataFrame(columns, columns=_POD_COLUMNS)


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    arr = np.asarray(values, dtype=float)
    return {
        "p50": round(float(np.percentile(arr, 50)), 3),
        "p95": round(float(np.percentile(arr, 95)), 3),
        "max": round(float(arr.max()), 3),
    }


def _summary(world: World, pods: pd.DataFrame, changes: dict[str, np.ndarray]) -> dict[str, Any]:
    end = world.scenario.duration
    subnets = {}
    for s in world.used_subnets():
        subnets[s.name] = {
            "cidr": s.pool.cidr,
            "vnet": s.vnet,
            "capacity": s.capacity,
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


def build_result(world: World) -> Result:
    """Turn a finished world's records into frames and a summary."""
    with collector_paused():
        return _build(world)


def _build(world: World) -> Result:
    events = pd.DataFrame(
        world.recorder.events,
        columns=["time_s", "kind", "cluster", "node_pool", "node", "subnet", "message"],
    )
    nnc = world.recorder.nnc_frame()
    pods = _pod_frame(world)
    changes = _changes(world)
    return Result(
        scenario=world.scenario,
        seed=world.seed,
        summary=_summary(world, pods, changes),
        subnets=_subnet_frame(world, changes),
        nnc=nnc,
        nodes=_node_frame(world),
        pods=pods,
        events=events,
        holders=_holder_frame(world),
    )
