"""Every replay checks itself: ``replay.csv`` (one row per trace pod) and
``replay_check.json`` (the figures, and whether the replay followed the trace).

The central figure compares the trace's alive pods (bound from the trace's binding to
its deletion) with the replay's bound pods at every change point of either: when the
cluster fits the trace, both counts are equal everywhere (``alive.max_abs_diff`` 0,
``alive.share_equal`` 1.0). Besides it: pods read, replayed and dropped (with the
reason of each drop), the scheduling lag (replay binding minus trace binding), pods
pending in the replay while running in the trace, evictions, and, where the trace names
nodes, how many pods ran on their node. Times are compared at microsecond resolution
(the simulation adds and subtracts the trace's times in floating point).
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from simulator.model.workloads.trace import TraceReplay
    from simulator.model.world import World

__all__ = ["REPLAY_COLUMNS", "replay_results", "write_replay_csv"]

REPLAY_COLUMNS = [
    "pod",
    "group",
    "trace_row",
    "status",
    "reason",
    "trace_node",
    "trace_created_s",
    "trace_bound_s",
    "trace_deleted_s",
    "replay_created_s",
    "replay_scheduled_s",
    "replay_deleted_s",
    "replay_node",
    "node_pool",
    "lag_s",
    "evictions",
]

AFTER_END = "arrives after the end of the run"
_DIGITS = 6  # microseconds


def _percentiles(values: np.ndarray) -> dict[str, float | None]:
    if not len(values):
        return {"p50": None, "p95": None, "max": None}
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p95": round(float(np.percentile(values, 95)), 3),
        "max": round(float(values.max()), 3),
    }


def _steps(times: np.ndarray, deltas: np.ndarray, points: np.ndarray) -> np.ndarray:
    """A counter's value just after each of ``points`` (+1/-1 ``deltas`` at ``times``)."""
    if not len(times):
        return np.zeros(len(points), dtype=np.int64)
    order = np.argsort(times, kind="stable")
    at = times[order]
    total = np.cumsum(deltas[order])
    idx = np.searchsorted(at, points, side="right") - 1
    return np.where(idx >= 0, total[np.maximum(idx, 0)], 0)


def _series(starts: np.ndarray, stops: np.ndarray, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Change times and deltas of intervals [start, stop) (NaN stop: open) up to ``end``."""
    starts = np.round(starts, _DIGITS)
    stops = np.round(stops, _DIGITS)
    opened = starts[starts <= end]
    closed = stops[~np.isnan(stops) & (stops <= end)]
    times = np.concatenate([opened, closed])
    deltas = np.concatenate([np.ones(len(opened), np.int64), -np.ones(len(closed), np.int64)])
    return times, deltas


def _one(world: World, replay: TraceReplay) -> tuple[pd.DataFrame, dict[str, Any]]:
    end = world.scenario.duration
    plan = replay.plan
    table = plan.table
    n = len(plan)
    launched = replay.launched
    nan = np.full(n, math.nan)
    first = replay.first

    # numpy reads None as NaN: a pod never created, bound or deleted.
    created_r = np.array([p and p.created_s for p in first], dtype=float)
    scheduled_r = np.array([p and p.scheduled_s for p in first], dtype=float)
    deleted_r = np.array([p and p.deleted_s for p in first], dtype=float)
    # The replay's first binding of each pod (a replacement after an eviction binds
    # again; the lag is the first one's).
    bound_t = plan.bound
    lag = np.round(scheduled_r - bound_t, _DIGITS)
    in_run = np.arange(n) < launched
    trace_bound = in_run & ~np.isnan(bound_t) & (np.round(bound_t, _DIGITS) <= end)
    replay_bound = ~np.isnan(scheduled_r)
    tolerance = replay.tolerance_lag
    status = np.select(
        [
            ~in_run,
            trace_bound & ~replay_bound,
            trace_bound & (lag > tolerance),
            trace_bound & (lag < -tolerance),
            trace_bound,
            replay_bound,
        ],
        ["dropped", "pending", "late", "early", "on time", "extra"],
        "not bound",
    )
    reason = np.where(in_run, "", AFTER_END)
    # Pending in the replay while running in the trace: seconds of each, to the first of
    # the replay's binding, the trace's deletion and the end of the run.
    until = np.fmin(
        np.fmin(np.nan_to_num(scheduled_r, nan=end), np.nan_to_num(plan.deleted, nan=end)), end
    )
    waiting = np.where(
        trace_bound & ((status == "pending") | (status == "late")),
        np.maximum(until - bound_t, 0),
        0.0,
    )
    # Alive: the trace's bound pods against the replay's, every incarnation counted.
    t_times, t_deltas = _series(bound_t[trace_bound], plan.deleted[trace_bound], end)
    pods = [p for p in world.clusters[replay.cluster].pods if p.workload == replay.workload]
    starts = np.array([p.scheduled_s for p in pods if p.scheduled_s is not None], dtype=float)
    stops = np.array(
        [
            math.nan if p.deleted_s is None else p.deleted_s
            for p in pods
            if p.scheduled_s is not None
        ],
        dtype=float,
    )
    r_times, r_deltas = _series(starts, stops, end)
    points = np.unique(np.concatenate([t_times, r_times]))
    diff = np.abs(_steps(t_times, t_deltas, points) - _steps(r_times, r_deltas, points))
    worst = int(np.argmax(diff)) if len(diff) else None
    pinned = [k for k in range(n) if plan.pin[k] is not None and replay.pinned[k] is not None]
    on_node = [k for k in pinned if first[k] is not None and first[k].node is replay.pinned[k]]
    bound_pinned = [k for k in pinned if first[k] is not None and first[k].node is not None]
    dropped = plan.dropped
    if n - launched:
        dropped[AFTER_END] += n - launched
    lags = lag[trace_bound & replay_bound]
    check: dict[str, Any] = {
        "workload": replay.workload,
        "cluster": replay.cluster,
        "source": {
            "file": table.source,
            "origin": plan.origin,
            "window_start": plan.start,
            "compress": plan.compress,
        },
        "pods": {
            "read": len(table) + sum(table.dropped.values()),
            "replayed": launched,
            "dropped": sum(dropped.values()),
            "dropped_by_reason": dict(sorted(dropped.items())),
        },
        "alive": {
            "max_abs_diff": int(diff.max()) if len(diff) else 0,
            "share_equal": round(float(np.mean(diff == 0)), 6) if len(diff) else 1.0,
            "change_points": len(points),
            "max_abs_diff_at_s": float(points[worst])
            if worst is not None and diff[worst]
            else None,
        },
        "lag_s": _percentiles(lags),
        "pending_while_running_in_trace": {
            "pods": int(np.count_nonzero(waiting > 0)),
            "pod_seconds": round(float(waiting.sum()), 3),
        },
        "status": dict(sorted(Counter(status.tolist()).items())),
        "evictions": int(replay.evictions.sum()),
        "placement": (
            {
                "pinned": len(pinned),
                "bound": len(bound_pinned),
                "on_their_node": len(on_node),
                "agreement": round(len(on_node) / len(bound_pinned), 6) if bound_pinned else None,
            }
            if pinned
            else None
        ),
        "tolerance": {"alive": replay.tolerance_alive, "lag_s": tolerance},
        "warnings": list(plan.warnings),
    }
    failures = []
    if check["alive"]["max_abs_diff"] > replay.tolerance_alive:
        failures.append(
            f"alive pods differ from the trace's by up to {check['alive']['max_abs_diff']} "
            f"(at t={check['alive']['max_abs_diff_at_s']:g}s; tolerance {replay.tolerance_alive})"
        )
    if check["pending_while_running_in_trace"]["pods"]:
        failures.append(
            f"{check['pending_while_running_in_trace']['pods']:,} pods waited for a node in the "
            "replay while they ran in the trace"
        )
    if len(lags) and lags.max() > tolerance:
        failures.append(f"scheduling lag up to {lags.max():g}s (tolerance {tolerance:g}s)")
    placement = check["placement"]
    if placement and placement["agreement"] is not None and placement["agreement"] < 1:
        failures.append(
            f"{placement['bound'] - placement['on_their_node']:,} pods ran on another node "
            "than their trace's"
        )
    check["passed"] = not failures
    check["failures"] = failures
    nodes = [p.node.name if p is not None and p.node is not None else "" for p in first]
    # The pool it ran in; else the pool, or the pools, it waited for.
    pools = [
        p.node.pool
        if p is not None and p.node is not None
        else plan.pool[k] or (plan.pin[k] or ("",))[0] or "|".join(plan.pools[k] or ())
        for k, p in enumerate(first)
    ]
    order = plan.order
    rows = {
        "pod": [table.names[i] for i in order],
        "group": [table.group[i] for i in order],
        "trace_row": table.rows[order],
        "status": status,
        "reason": reason,
        "trace_node": [table.node[i] for i in order],
        "trace_created_s": plan.created,
        "trace_bound_s": bound_t,
        "trace_deleted_s": plan.deleted,
        "replay_created_s": created_r,
        "replay_scheduled_s": scheduled_r,
        "replay_deleted_s": deleted_r,
        "replay_node": nodes,
        "node_pool": pools,
        "lag_s": np.where(trace_bound & replay_bound, lag, nan),
        "evictions": replay.evictions,
    }
    frame = pd.DataFrame(rows, columns=REPLAY_COLUMNS)
    skipped = np.array([bool(r) for r in plan.reason], dtype=bool)
    if skipped.any():
        idx = np.flatnonzero(skipped)
        frame = pd.concat(
            [
                frame,
                pd.DataFrame(
                    {
                        "pod": [table.names[i] for i in idx],
                        "group": [table.group[i] for i in idx],
                        "trace_row": table.rows[idx],
                        "status": "dropped",
                        "reason": [plan.reason[i] for i in idx],
                        "trace_node": [table.node[i] for i in idx],
                        "trace_created_s": plan.simulated(table.created[idx]),
                        "trace_bound_s": plan.simulated(table.scheduled[idx]),
                        "trace_deleted_s": plan.simulated(table.deleted[idx]),
                        "evictions": 0,
                    },
                    columns=REPLAY_COLUMNS,
                ),
            ],
            ignore_index=True,
        )
    frame["workload"] = replay.workload
    return frame, check


def replay_results(world: World) -> tuple[pd.DataFrame | None, dict[str, Any] | None]:
    """``replay.csv`` and ``replay_check.json`` of a finished world; None for both when
    it replays no trace."""
    replays = [
        r
        for cluster in world.clusters.values()
        for controller in cluster.controllers.values()
        if (r := controller.replay()) is not None
    ]
    if not replays:
        return None, None
    frames, checks = zip(*(_one(world, r) for r in replays), strict=True)
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[["workload", *REPLAY_COLUMNS]]
    failures = [f"{c['workload']}: {f}" for c in checks for f in c["failures"]]
    return frame, {
        "passed": not failures,
        "failures": failures,
        "workloads": {c["workload"]: c for c in checks},
    }


def write_replay_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``replay.csv`` with pyarrow's CSV writer (a row per trace pod: a hundred
    thousand rows in a tenth of the time pandas takes). Numbers are written in their
    shortest form (``300``, not ``300.0``), an empty cell is a missing value. Its cells
    are not quoted: should a trace's names hold a comma or a quote, pandas writes it."""
    import pyarrow as pa
    import pyarrow.csv as pc

    table = pa.Table.from_pandas(frame, preserve_index=False)
    try:
        pc.write_csv(table, path, pc.WriteOptions(quoting_style="none", quoting_header="none"))
    except pa.ArrowInvalid:
        frame.to_csv(path, index=False)
