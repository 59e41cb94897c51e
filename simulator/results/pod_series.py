"""Pods waiting for an address and pods pending, over time, from the pods' own times.

A pod waits for an address from binding until it gets one (or goes, or the run ends);
it is pending from creation until it is bound (or goes, or the run ends). Each grid
point holds the most pods in that state at any moment from it to the next grid point,
so a wait shorter than the grid still shows. Built with numpy from ``pods.csv``'s
columns, in time proportional to the pods.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["pods_over_time"]


def _most_at_once(
    starts: np.ndarray, stops: np.ndarray, grid: np.ndarray
) -> tuple[np.ndarray, int]:
    """For intervals [start, stop): the most open at once in each [grid[i], grid[i+1])
    (the last grid point: at that instant), and the most at once overall."""
    keep = stops > starts
    starts, stops = starts[keep], stops[keep]
    if not len(starts):
        return np.zeros(len(grid), dtype=np.int64), 0
    times = np.concatenate([starts, stops])
    deltas = np.concatenate([np.ones(len(starts), np.int64), -np.ones(len(stops), np.int64)])
    order = np.lexsort((deltas, times))  # at one instant, departures before arrivals
    times, level = times[order], np.cumsum(deltas[order])
    # One value per instant: the level after its last change.
    last = np.append(times[1:] != times[:-1], True)
    times, level = times[last], level[last]
    at = np.searchsorted(times, grid, side="right") - 1  # the level at each grid point
    out = np.where(at >= 0, level[np.maximum(at, 0)], 0)
    # Changes strictly inside (grid[i], grid[i+1]) can only raise the interval's peak.
    first = np.searchsorted(times, grid[:-1], side="right")
    stop = np.searchsorted(times, grid[1:], side="left")
    inside = first < stop
    if inside.any():
        padded = np.append(level, 0)
        bounds = np.stack([first[inside], stop[inside]], axis=1).ravel()
        peaks = np.maximum.reduceat(padded, bounds)[::2]
        rows = np.flatnonzero(inside)
        out[rows] = np.maximum(out[rows], peaks)
    return out.astype(np.int64), int(level.max(initial=0))


def pods_over_time(pods: pd.DataFrame, grid: np.ndarray, end: float) -> pd.DataFrame:
    """``time_s``, ``waiting`` (for an address) and ``pending`` (not bound), on ``grid``;
    ``attrs["most_waiting"]`` and ``attrs["most_pending"]`` are the most at any moment."""
    grid = np.asarray(grid, dtype=float)
    created = pods["created_s"].to_numpy(dtype=float)
    scheduled = pods["scheduled_s"].to_numpy(dtype=float)
    deleted = pods["deleted_s"].to_numpy(dtype=float)
    wait = pods["ip_wait_s"].to_numpy(dtype=float)
    bound = ~np.isnan(scheduled)
    gone = np.where(np.isnan(deleted), end, deleted)
    waits = bound & ~np.isnan(wait)

    def open_at_end(stops: np.ndarray) -> np.ndarray:
        return np.where(stops >= end, np.inf, stops)  # still so at the end: counted there

    waiting, most_waiting = _most_at_once(
        scheduled[waits], open_at_end((scheduled + wait)[waits]), grid
    )
    pending, most_pending = _most_at_once(
        created, open_at_end(np.where(bound, scheduled, gone)), grid
    )
    frame = pd.DataFrame({"time_s": grid, "waiting": waiting, "pending": pending})
    frame.attrs.update(most_waiting=most_waiting, most_pending=most_pending)
    return frame
