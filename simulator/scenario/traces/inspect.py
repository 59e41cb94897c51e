"""What ``ipsim trace inspect`` says of a trace: pods, time span, peak alive and when,
peak requests, the nodes and pools it names, and a window to replay."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any

import numpy as np

from simulator.core.units import format_duration
from simulator.scenario.traces.spec import AKS_POOL_PATTERN
from simulator.scenario.traces.table import PodTable

__all__ = ["describe", "inspect"]

#: Rows of subnets.csv a suggested window aims at (the sample grid it suggests).
_GRID_ROWS = 2000


def _peak(starts: np.ndarray, stops: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """The largest sum of ``weights`` over intervals [start, stop) open at one instant,
    and the first instant it is reached (stop NaN: open to the end)."""
    ok = ~np.isnan(starts)
    starts, stops, weights = starts[ok], stops[ok], weights[ok]
    closed = ~np.isnan(stops)
    times = np.concatenate([starts, stops[closed]])
    deltas = np.concatenate([weights, -weights[closed]])
    if not len(times):
        return 0.0, math.nan
    order = np.lexsort((deltas, times))  # at one instant, departures first
    level = np.cumsum(deltas[order])
    at = times[order]
    # The level after all changes of each instant.
    last = np.flatnonzero(np.append(at[1:] != at[:-1], True))
    best = int(np.argmax(level[last]))
    return float(level[last][best]), float(at[last][best])


def _nice_step(seconds: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400):
        if seconds / step <= _GRID_ROWS:
            return float(step)
    return 86400.0 * math.ceil(seconds / 86400 / _GRID_ROWS)


def inspect(table: PodTable) -> dict[str, Any]:
    """The figures of a pod table, as a mapping (times in the trace's own seconds)."""
    bound = table.scheduled.copy()
    if not table.scheduling_known:
        bound = np.where(np.isnan(bound), table.created, bound)
    early = np.isnan(table.created) & np.isnan(bound)
    start_times = np.concatenate([table.created, table.scheduled, table.deleted])
    first = float(np.nanmin(start_times)) if np.isfinite(start_times).any() else math.nan
    last = float(np.nanmax(start_times)) if np.isfinite(start_times).any() else math.nan
    if table.start is not None:
        first = min(first, table.start) if not math.isnan(first) else table.start
    if table.end is not None:
        last = max(last, table.end) if not math.isnan(last) else table.end
    bound = np.where(early, first, bound)  # there before the trace began
    ones = np.ones(len(table))
    peak, peak_at = _peak(bound, table.deleted, ones)
    requests = {}
    for key, values, unit in (
        ("cpu", table.cpu, "millicores"),
        ("memory", table.memory, "MiB"),
        ("gpu", table.gpu, "GPUs"),
    ):
        if (values >= 0).any():
            amount, when = _peak(bound, table.deleted, np.maximum(values, 0).astype(float))
            requests[key] = {"peak": amount, "at": when, "unit": unit}
    changes = np.concatenate([bound[~np.isnan(bound)], table.deleted[~np.isnan(table.deleted)]])
    window = None
    if len(changes):
        lo, hi = (float(x) for x in np.percentile(changes, [1, 99]))
        lo = max(lo - (hi - lo) * 0.01, first)
        hi = min(hi + (hi - lo) * 0.01, last)
        if hi > lo:
            window = {"start": lo, "end": hi, "sample_every": _nice_step(hi - lo)}
    pattern = re.compile(AKS_POOL_PATTERN)
    pools = {p for p in table.pool if p}
    for node in table.nodes:
        match = pattern.match(node)
        if match:
            pools.add(match.group("pool"))
    return {
        "source": table.source,
        "pods": len(table),
        "dropped_while_reading": dict(table.dropped),
        "timestamps": table.absolute,
        "first_s": first,
        "last_s": last,
        "span_s": last - first if not math.isnan(first) else 0.0,
        "never_scheduled": int(np.count_nonzero(np.isnan(bound))),
        "before_start": int(np.count_nonzero(early)),
        "alive_at_end": int(np.count_nonzero(np.isnan(table.deleted))),
        "peak_alive": int(peak),
        "peak_alive_at_s": peak_at,
        "peak_requests": requests,
        "nodes": len(table.nodes),
        "pools": sorted(pools),
        "groups": len({g for g in table.group if g}),
        "window": window,
    }


def _when(seconds: float, absolute: bool) -> str:
    if math.isnan(seconds):
        return "-"
    if absolute:
        stamp = datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()
        return f"{stamp.replace('+00:00', 'Z')} ({seconds:.0f})"
    return f"{seconds:,.0f}s" if float(seconds).is_integer() else f"{seconds:,.3f}s"


def describe(figures: dict[str, Any], fmt: str) -> str:
    """The figures as the lines ``ipsim trace inspect`` prints."""
    f = figures
    absolute = f["timestamps"]
    lines = [
        f"{f['source']} ({fmt}): {f['pods']:,} pods",
        f"time span: {_when(f['first_s'], absolute)} to {_when(f['last_s'], absolute)}"
        f" ({format_duration(round(f['span_s']))})",
        f"peak alive: {f['peak_alive']:,} pods at {_when(f['peak_alive_at_s'], absolute)}",
        f"never scheduled: {f['never_scheduled']:,}; there before the trace began: "
        f"{f['before_start']:,}; alive at the end: {f['alive_at_end']:,}",
    ]
    for key, peak in f["peak_requests"].items():
        amount = peak["peak"]
        shown = (
            f"{amount / 1000:,.1f} cores"
            if key == "cpu"
            else f"{amount / 1024:,.1f} GiB"
            if key == "memory"
            else f"{amount:,.0f} GPUs"
        )
        lines.append(f"peak {key} requested: {shown} at {_when(peak['at'], absolute)}")
    lines.append(
        f"nodes named: {f['nodes']:,}"
        + (f" in pools {', '.join(f['pools'])}" if f["pools"] else "")
        + f"; groups: {f['groups']:,}"
    )
    for reason, count in f["dropped_while_reading"].items():
        lines.append(f"not read: {count:,} ({reason})")
    window = f["window"]
    if window:
        origin = f["first_s"] if absolute else 0.0
        start, end = window["start"] - origin, window["end"] - origin
        lines.append(
            "suggested window (99% of the changes): "
            f"source: {{window: {{start: {format_duration(round(start))}, "
            f"end: {format_duration(round(end))}}}}}, duration: "
            f"{format_duration(round(end) - round(start))}, sample_every: "
            f"{format_duration(window['sample_every'])}"
        )
    return "\n".join(lines)
