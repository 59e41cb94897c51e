"""A trace made ready to replay in one cluster: which pods, when, with what, where.

From the pod table and the workload's keys: the time origin and window (pods alive at
the window's start are there at t = 0, pods alive at its end stay), the compression,
what becomes of pods the trace never scheduled or gives no creation time, the requests
the workload fills in, and the placement: the node a pod ran on (its node pool by the
trace's pool, the node list or the pool pattern; the k-th node a pool's pods name is
the pool's k-th node at t = 0), or the pools the scheduler may use for its group.
Everything not replayed is counted with its reason.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from simulator.core.vm_sizes import pool_allocatable, pool_gpus
from simulator.errors import InputError, ScenarioError
from simulator.scenario.traces.table import PodTable, parse_timestamp


class Workload(Protocol):
    """A ``kind: trace`` workload (:class:`simulator.scenario.workloads.Workload`): the
    keys the plan reads (a protocol, as the workload model imports this module)."""

    name: str
    source: Any
    placement: Any
    requests: Any
    host_network: bool
    termination_grace: float
    node_pools: list[str] | None


class Cluster(Protocol):
    """A resolved cluster (:class:`simulator.scenario.models.Cluster`)."""

    name: str
    node_pools: Sequence[Any]
    timings: Any


__all__ = ["ReplayPlan", "plan_replay"]

# Why a row of the trace is not replayed (the replay check counts each).
ENDED_BEFORE = "ended before the window"
AFTER_WINDOW = "arrives after the window"
NEVER_SCHEDULED = "never scheduled in the trace"
NO_CREATION = "no creation time"


@dataclass
class ReplayPlan:
    """The replayed pods in arrival order, with simulated times (seconds from t = 0)."""

    table: PodTable
    order: np.ndarray  # the table rows replayed, by arrival
    arrive: np.ndarray  # when each enters the cluster
    created: np.ndarray  # when the trace created it
    bound: np.ndarray  # when the trace bound it (NaN: never)
    deleted: np.ndarray  # when it is deleted (NaN: alive at the end)
    cpu: np.ndarray
    memory: np.ndarray
    gpu: np.ndarray
    host_network: np.ndarray
    cap: np.ndarray  # pods of its group per node at most (0: no cap)
    pool: list[str | None]  # the one pool it must run in
    pools: list[tuple[str, ...] | None]  # or the pools it may run in
    pin: list[tuple[str, int] | None]  # or the pool and position of its node at t = 0
    reason: list[str]  # per table row: why it is not replayed ("" if it is)
    origin: float = 0.0  # the trace time of t = 0, before the window and compression
    start: float = 0.0  # the window's start (trace seconds after the origin)
    compress: float = 1.0
    warnings: list[str] = field(default_factory=list)
    #: The trace's nodes each pool runs, by position (placement: trace).
    pinned_nodes: dict[str, list[str]] = field(default_factory=dict)

    def simulated(self, trace_times: np.ndarray) -> np.ndarray:
        """Trace times (the file's seconds) as simulated seconds, without clamping."""
        return (trace_times - self.origin - self.start) / self.compress

    @property
    def dropped(self) -> Counter[str]:
        """Rows not replayed, by reason (those the reader dropped included)."""
        counts = Counter(r for r in self.reason if r)
        counts.update(self.table.dropped)
        return counts

    def __len__(self) -> int:
        return len(self.order)


def _origin(table: PodTable, origin: float | str | None, path: str) -> float:
    if origin is None:
        if not table.absolute:
            return 0.0
        if table.start is not None:
            return float(table.start)
        times = np.concatenate([table.created, table.scheduled, table.deleted])
        return float(np.nanmin(times)) if np.isfinite(times).any() else 0.0
    if isinstance(origin, str):
        if not table.absolute:
            raise ScenarioError(
                "is a timestamp, but the trace's times are seconds from its start: "
                "give the origin in seconds",
                path=f"{path}.origin",
                value=origin,
            )
        stamp = parse_timestamp(origin)
        assert stamp is not None  # the model checked it
        return stamp
    return float(origin)


def plan_replay(table: PodTable, w: Workload, cluster: Cluster, path: str) -> ReplayPlan:
    """The replay of ``table`` by trace workload ``w`` in ``cluster`` (``path``: the
    workload's field path, for errors)."""
    source, placement = w.source, w.placement
    assert source is not None and placement is not None
    n = len(table)
    origin = _origin(table, source.origin, f"{path}.source")
    created = table.created - origin
    scheduled = table.scheduled - origin
    deleted = table.deleted - origin
    reason = np.full(n, "", dtype=object)
    no_created = np.isnan(created)
    # The trace's binding: its scheduled time; without one, a format that records
    # scheduling says "never", one that does not means "when created".
    bound = scheduled.copy()
    if not table.scheduling_known:
        bound = np.where(np.isnan(bound), created, bound)
    never = np.isnan(bound) & ~no_created
    if source.unscheduled == "drop":
        reason[never] = NEVER_SCHEDULED
    if source.missing_created == "drop":
        reason[no_created & (reason == "")] = NO_CREATION
    # Pods without a creation time were there before the trace began.
    bound = np.where(no_created & np.isnan(bound), -math.inf, bound)
    created = np.where(no_created, np.where(np.isnan(scheduled), -math.inf, scheduled), created)
    arrive = bound if source.arrive == "scheduled" else created
    arrive = np.where(np.isnan(arrive), created, arrive)
    start = source.window.start
    end = source.window.end if source.window.end is not None else math.inf
    with np.errstate(invalid="ignore"):
        reason[(deleted <= start) & (reason == "")] = ENDED_BEFORE
        reason[(arrive >= end) & (reason == "")] = AFTER_WINDOW
        deleted = np.where(deleted >= end, math.nan, deleted)
    scale = 1.0 / source.compress
    keep = np.flatnonzero(reason == "")
    order = keep[np.argsort(np.maximum(arrive[keep], start), kind="stable")]

    def sim(values: np.ndarray) -> np.ndarray:
        return (np.maximum(values[order], start) - start) * scale

    requests = w.requests
    defaults = (
        requests.cpu if requests else 0,
        requests.memory if requests else 0,
        requests.gpu if requests else 0,
    )

    def filled(values: np.ndarray, default: int) -> np.ndarray:
        picked = values[order]
        return np.where(picked < 0, default, picked)

    plan = ReplayPlan(
        table=table,
        order=order,
        arrive=sim(arrive),
        created=sim(created),
        bound=sim(bound),
        deleted=sim(deleted),
        cpu=filled(table.cpu, defaults[0]),
        memory=filled(table.memory, defaults[1]),
        gpu=filled(table.gpu, defaults[2]),
        host_network=np.where(
            table.host_network[order] < 0, int(w.host_network), table.host_network[order]
        ).astype(bool),
        cap=np.where(
            table.max_per_node[order] > 0, table.max_per_node[order], placement.max_per_node or 0
        ),
        pool=[None] * len(order),
        pools=[None] * len(order),
        pin=[None] * len(order),
        reason=list(reason),
        origin=origin,
        start=start,
        compress=source.compress,
    )
    _place(plan, w, cluster, path)
    _warn(plan, w, cluster)
    return plan


def _place(plan: ReplayPlan, w: Workload, cluster: Cluster, path: str) -> None:
    placement = w.placement
    assert placement is not None
    table = plan.table
    pools = {p.name: p for p in cluster.node_pools}
    pattern = re.compile(placement.pool_pattern)
    node_list = placement.node_list or {}
    groups = {g: tuple(ps) for g, ps in (placement.groups or {}).items()}
    for g, names in groups.items():
        for name in names:
            if name not in pools:
                raise ScenarioError(
                    f"no node pool {name!r} in cluster {cluster.name!r} (pools: "
                    f"{', '.join(pools)})",
                    path=f"{path}.placement.groups.{g}",
                    value=name,
                )
    for node, name in node_list.items():
        if name not in pools:
            raise ScenarioError(
                f"no node pool {name!r} in cluster {cluster.name!r} (pools: {', '.join(pools)})",
                path=f"{path}.placement.node_list.{node}",
                value=name,
            )
    default = tuple(w.node_pools) if w.node_pools else None
    pin_nodes = placement.nodes == "trace"
    seen: dict[str, dict[str, int]] = {}
    pool_of: dict[str, str | None] = {}
    for k, i in enumerate(plan.order):
        node, pool = table.node[i], table.pool[i]
        how = "the trace's pool column"
        if not pool and node:
            if node not in pool_of:
                match = pattern.match(node)
                pool_of[node] = node_list.get(node) or (match.group("pool") if match else None)
            pool = pool_of[node] or ""
            how = "the node list" if node in node_list else "its node's name"
        if pool and pool not in pools:
            raise InputError(
                f"runs in node pool {pool!r} (from {how}), which cluster {cluster.name!r} does "
                f"not have (pools: {', '.join(pools)}); name the trace's nodes' pools in "
                "placement.node_list",
                source=table.source,
                where=f"row {int(table.rows[i])}",
                value=node or pool,
            )
        if pool and node and pin_nodes:
            slots = seen.setdefault(pool, {})
            plan.pin[k] = (pool, slots.setdefault(node, len(slots)))
        elif pool:
            plan.pool[k] = pool
        else:
            plan.pools[k] = groups.get(table.group[i], default)
    for pool, slots in seen.items():
        count = pools[pool].count
        if len(slots) > count:
            raise ScenarioError(
                f"the trace names {len(slots)} nodes in node pool {pool!r}, which has "
                f"{count} at t = 0: give it count {len(slots)} or more, or "
                "placement.nodes: scheduler",
                path=f"{path}.placement.nodes",
                value="trace",
            )
        plan.pinned_nodes[pool] = list(slots)


def _warn(plan: ReplayPlan, w: Workload, cluster: Cluster) -> None:
    source = w.source
    assert source is not None
    timings = cluster.timings
    if source.compress != 1 and len(plan):
        # A pod keeps its address for its grace and the release delay after deletion,
        # whatever the compression: short compressed lives inflate address use.
        floor = timings.pod_start + w.termination_grace + timings.ip_release
        lives = plan.deleted - plan.bound
        short = int(np.count_nonzero(lives < floor))
        if short:
            plan.warnings.append(
                f"{w.name}: after compression by {source.compress:g}, {short:,} of "
                f"{len(plan):,} pods live less than pod_start + termination_grace + "
                f"ip_release ({floor:g} s): they hold addresses longer than they live; "
                "compress less to keep address use faithful"
            )
    room = _room(cluster)
    if room:
        misfit = _misfits(plan, room)
        if misfit:
            first = int(plan.table.rows[plan.order[misfit[0]]])
            plan.warnings.append(
                f"{w.name}: {len(misfit):,} pods request more than any node of their pools "
                f"offers (first: row {first} of {plan.table.source}); they will stay pending"
            )


def _room(cluster: Cluster) -> dict[str, tuple[Any, Any, Any]]:
    return {
        p.name: (*pool_allocatable(p), pool_gpus(p))
        for p in cluster.node_pools
        if pool_allocatable(p) != (None, None) or pool_gpus(p) is not None
    }


def _misfits(plan: ReplayPlan, room: dict[str, tuple[Any, Any, Any]]) -> list[int]:
    out = []
    everyone = list(room)
    for k in range(len(plan)):
        pin = plan.pin[k]
        names = (
            [pin[0]] if pin else [plan.pool[k]] if plan.pool[k] else list(plan.pools[k] or everyone)
        )
        if any(name not in room for name in names):
            continue  # a pool without limits takes anything
        need = (plan.cpu[k], plan.memory[k], plan.gpu[k])
        if not any(
            all(
                limit is None or amount <= limit
                for amount, limit in zip(need, room[name], strict=True)
            )
            for name in names
        ):
            out.append(k)
    return out
