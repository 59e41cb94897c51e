"""The run's tables on the sample grid and per entity: subnets, holders, nodes and pods.

Built once, at the end, from the model's records and change points; column by column
and with numpy where a long run has millions of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simulator.core import sample_grid
from simulator.core.addressing import SubnetPool
from simulator.core.units import format_duration

if TYPE_CHECKING:
    from simulator.model.world import World

__all__ = [
    "Grid",
    "changes",
    "holder_frame",
    "node_frame",
    "pod_frame",
    "sample_grid_of",
    "subnet_frame",
]

_text = SubnetPool.text


@dataclass(frozen=True)
class Grid:
    """The run's sample grid: its times, its step, and the rows it gives."""

    times: np.ndarray
    step: float
    asked: float  # the scenario's sample_every
    series: int  # rows per grid time: used subnets and their holders
    rows: int  # rows on the scenario's own grid, before any coarsening

    @property
    def coarsened(self) -> bool:
        return self.step != self.asked

    def note(self) -> str:
        """What the coarsening did, for the summary's notes."""
        return (
            f"sample grid coarsened from {format_duration(self.asked)} to "
            f"{format_duration(self.step)}: {self.series:,} series (used subnets and their "
            f"holders) on the {format_duration(self.asked)} grid would write {self.rows:,} "
            f"rows to subnets.csv and holders.csv, above the output budget of "
            f"{sample_grid.ROW_BUDGET:,}"
        )


def sample_grid_of(world: World) -> Grid:
    """The grid of ``subnets.csv`` and ``holders.csv``: the scenario's ``sample_every``,
    or the smallest whole multiple of it whose rows fit the output budget."""
    end = world.end_s
    asked = world.scenario.sample_every
    used = world.used_subnets()
    series = len(used) + sum(len(s.held_by) for s in used)
    step = sample_grid.grid_step(end, asked, series)
    # Validation refused the scenario if no grid fits: it counts the series ahead.
    assert step is not None, f"{series:,} series on the sample grid exceed the output budget"
    rows = series * sample_grid.grid_points(end, asked)
    return Grid(sample_grid.sample_grid(end, step), step, asked, series, rows)


_HOLDER_COLUMNS = ["time_s", "subnet", "cluster", "node_pool", "allocated", "space", "blocks"]


def _at(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A step function's values (``values`` from ``times`` on, 0 before) on ``grid``."""
    at = np.searchsorted(times, grid, side="right") - 1
    return np.where(at >= 0, values[np.maximum(at, 0)], 0)


def holder_frame(world: World, grid: np.ndarray) -> pd.DataFrame:
    """Addresses (and blocks) each ``cluster/node pool`` holds in each used address
    space, on the grid."""
    parts = []
    for subnet in world.used_subnets():
        # Each holder's changes, gathered in one pass over the subnet's changes.
        by_holder: dict[str, list[tuple[float, int, int]]] = {h: [] for h in subnet.held_by}
        for t, h, c, b in subnet.holder_changes:
            by_holder[h].append((t, c, b))
        for holder in sorted(subnet.held_by):
            changes = by_holder[holder]
            times = np.array([t for t, _, _ in changes], dtype=float)
            counts = np.array([c for _, c, _ in changes], dtype=np.int64)
            blocks = np.array([b for _, _, b in changes], dtype=np.int64)
            cluster, pool = holder.split("/", 1)
            parts.append(
                pd.DataFrame(
                    {
                        "time_s": grid,
                        "subnet": subnet.name,
                        "cluster": cluster,
                        "node_pool": pool,
                        "allocated": _at(times, counts, grid),
                        "space": subnet.space,
                        "blocks": _at(times, blocks, grid),
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=_HOLDER_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def changes(world: World) -> dict[str, np.ndarray]:
    """Each used subnet's change points as an array of (time, allocated, assigned)."""
    return {s.name: s.change_points() for s in world.used_subnets()}


def subnet_frame(world: World, arrays: dict[str, np.ndarray], grid: np.ndarray) -> pd.DataFrame:
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
        # A pod CIDR can grow during the run: its range and size at each grid time.
        sizes = subnet.capacity_changes
        at = np.searchsorted([t for t, _, _ in sizes], grid, side="right") - 1
        capacity = np.array([c for _, c, _ in sizes], dtype=np.int64)[at]
        cidr = np.array([r for _, _, r in sizes], dtype=object)[at]
        held = subnet.block_changes
        blocks = _at(
            np.array([t for t, _ in held], dtype=float),
            np.array([b for _, b in held], dtype=np.int64),
            grid,
        )
        parts.append(
            pd.DataFrame(
                {
                    "time_s": grid,
                    "subnet": subnet.name,
                    "cidr": cidr if len(sizes) > 1 else subnet.pool.cidr,
                    "capacity": capacity if len(sizes) > 1 else subnet.capacity,
                    "reserved": len(subnet.reserved),
                    "allocated": allocated,
                    "assigned": assigned,
                    "free": capacity - allocated,
                    "exhausted": exhausted,
                    "space": subnet.space,
                    "blocks": blocks,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def node_frame(world: World) -> pd.DataFrame:
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


def pod_frame(world: World) -> pd.DataFrame:
    end = world.end_s
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
