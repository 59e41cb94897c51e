"""Charts of one run, from its frames: subnets over time with the harm beside them, one
node's pool, who holds each subnet's addresses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simulator.charts.common import (
    counts_axis,
    finish,
    legend_beside,
    mark_times,
    new_figure,
    time_scale,
)

__all__ = ["ACTION_KINDS", "REFUSAL_KINDS", "plot_holders", "plot_nnc", "plot_utilization"]

#: Events that are someone's action on the cluster (the timeline's, the autoscaler's).
ACTION_KINDS = (
    "node_pool_scaled",
    "workload_scaled",
    "rollout_started",
    "upgrade_started",
    "node_pool_added",
    "node_pool_deleted",
    "node_pool_replace_started",
    "autoscaler_scale_up",
    "autoscaler_scale_down",
)
#: Events where a request for addresses, or an operation, was refused.
REFUSAL_KINDS = ("subnet_full", "node_failed", "preflight_refused", "upgrade_failed")

# A subnet far bigger than its peak would flatten the lines: zoom in above this ratio,
# unless the whole subnet is small enough to read at a glance.
_ZOOM = 4
_SMALL = 64


def _shade(ax: Axes, t: np.ndarray, flag: np.ndarray, label: str) -> None:
    """Shade the spans where ``flag`` holds (a step function sampled at ``t``)."""
    flag = np.asarray(flag, dtype=bool)
    if not flag.any():
        return
    edges = np.diff(np.concatenate([[0], flag.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for k, (i, j) in enumerate(zip(starts, stops, strict=True)):
        end = t[j] if j < len(t) else t[-1]
        ax.axvspan(t[i], end, color="tab:purple", alpha=0.12, lw=0, label=label if k == 0 else None)


def _verdict_title(title: str, verdict: dict[str, Any] | None) -> str:
    if not verdict or not verdict.get("verdict"):
        return title
    if verdict["verdict"] == "PASS":
        return f"{title}: PASS"
    reasons = verdict.get("reasons") or []
    return f"{title}: FAIL\n" + "\n".join(f"• {r}" for r in reasons[:3])


def _marks(ax: Axes, events: pd.DataFrame, subnet: str | None, scale: float) -> None:
    """Actions (every panel) and refusals (the panel of their subnet) where they happen."""
    if events is None or events.empty:
        return
    actions = events[events["kind"].isin(ACTION_KINDS)]
    mark_times(
        ax,
        actions["time_s"] / scale,
        colour="0.35",
        marker="v",
        label="action (scale, rollout, upgrade, node pool)",
        line=len(actions) <= 60,
    )
    refused = events[events["kind"].isin(REFUSAL_KINDS)]
    if subnet is not None:
        refused = refused[refused["subnet"] == subnet]
    mark_times(ax, refused["time_s"] / scale, colour="tab:red", marker="x", label="refused")


def plot_utilization(
    subnets: pd.DataFrame,
    events: pd.DataFrame,
    title: str,
    path: str | Path | None = None,
    *,
    pods: pd.DataFrame | None = None,
    verdict: dict[str, Any] | None = None,
) -> Figure:
    """One panel per subnet: allocated and assigned over time, the headroom up to the
    usable capacity (or how far above the chart it is), actions and refusals marked;
    with ``pods`` (from :func:`simulator.results.pod_series.pods_over_time`), a last
    panel of pods waiting for an address and pending. ``verdict``: the summary's
    verdict and reasons, for the title."""
    names = list(dict.fromkeys(subnets["subnet"]))
    rows = len(names) + (pods is not None)
    fig = new_figure(path, 10.5, 2.7 * rows + 1.2)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    duration = float(subnets["time_s"].max()) if len(subnets) else 0.0
    scale, unit = time_scale(duration)
    for ax, name in zip(axes, names, strict=False):
        _subnet_panel(ax, subnets[subnets["subnet"] == name], events, name, scale)
    if pods is not None:
        _pods_panel(axes[-1], pods, events, scale)
    axes[-1].set_xlabel(f"simulated time ({unit})")
    axes[-1].set_xlim(0, duration / scale if duration else 1)
    fig.suptitle(_verdict_title(title, verdict), fontsize=11, ha="left", x=0.01)
    return finish(fig, path)


def _subnet_panel(ax: Axes, frame: pd.DataFrame, events, name: str, scale: float) -> None:
    t = frame["time_s"].to_numpy(dtype=float) / scale
    allocated = frame["allocated"].to_numpy()
    assigned = frame["assigned"].to_numpy()
    capacity = int(frame["capacity"].iloc[0])
    peak = int(allocated.max()) if len(allocated) else 0
    whole = capacity <= max(_ZOOM * peak, _SMALL)
    top = capacity if whole else max(peak, 1) * 1.5
    reserved = int(frame["reserved"].iloc[0]) if "reserved" in frame else 0
    if reserved:  # other consumers' addresses, inside the allocated area from t = 0 on
        ax.axhspan(0, reserved, color="tab:gray", alpha=0.25, lw=0,
                   label=f"reserved: held by other consumers ({reserved:,})")  # fmt: skip
    ax.fill_between(
        t, allocated, step="post", alpha=0.35, color="tab:blue", label="allocated (held by nodes)"
    )
    ax.step(t, allocated, where="post", color="tab:blue", lw=1.2)
    if assigned.any():  # a node subnet under dynamic allocation has none: no zero line
        ax.step(t, assigned, where="post", color="tab:orange", lw=1.6, label="assigned to pods")
    if top >= capacity:
        # Headroom: what is left free up to the usable capacity.
        ax.fill_between(
            t,
            allocated,
            capacity,
            step="post",
            color="tab:green",
            alpha=0.08,
            label="headroom (free)",
        )
        ax.axhline(capacity, color="black", ls="--", lw=1, label=f"usable capacity {capacity:,}")
        ax.set_ylim(0, capacity * 1.1 + 1)
    else:
        ax.set_ylim(0, top * 1.08 + 1)
        ax.text(
            0.99,
            0.96,
            f"usable capacity {capacity:,}: {capacity - int(top * 1.08 + 1):,} above the top",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "0.7", "alpha": 0.9},
        )
    if "exhausted" in frame and frame["exhausted"].any():
        _shade(ax, t, frame["exhausted"].to_numpy(dtype=bool), "subnet marked exhausted")
    _marks(ax, events, name, scale)
    share = peak / capacity if capacity else 0.0
    low = "; none assigned to pods" if not assigned.any() else ""
    ax.set_title(
        f"{name} {frame['cidr'].iloc[0]}: peak {peak:,} of {capacity:,} usable ({share:.0%}), "
        f"headroom at the peak {capacity - peak:,}{low}",
        loc="left",
        fontsize=10,
    )
    ax.set_ylabel("addresses")
    counts_axis(ax)
    ax.grid(alpha=0.3)
    legend_beside(ax)


def _pods_panel(ax: Axes, pods: pd.DataFrame, events, scale: float) -> None:
    t = pods["time_s"].to_numpy(dtype=float) / scale
    most_waiting = int(pods.attrs.get("most_waiting", pods["waiting"].max()))
    most_pending = int(pods.attrs.get("most_pending", pods["pending"].max()))
    drawn = False
    if pods["waiting"].any():
        ax.step(
            t,
            pods["waiting"],
            where="post",
            color="tab:red",
            lw=1.6,
            label="waiting for an address",
        )
        drawn = True
    if pods["pending"].any():
        ax.step(
            t,
            pods["pending"],
            where="post",
            color="0.4",
            lw=1.4,
            ls="--",
            label="pending (no node with room)",
        )
        drawn = True
    if not drawn:
        ax.text(
            0.5,
            0.5,
            "no pod waited for an address or stayed pending",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=9,
            color="0.3",
        )
        ax.set_ylim(0, 1)
    else:
        ax.set_ylim(0, max(most_waiting, most_pending, 1) * 1.12)
    _marks(ax, events, None, scale)
    ax.set_title(
        f"pods waiting for an address (at most {most_waiting:,} at once) and pending "
        f"(at most {most_pending:,})",
        loc="left",
        fontsize=10,
    )
    ax.set_ylabel("pods")
    counts_axis(ax)
    ax.grid(alpha=0.3)
    legend_beside(ax)


def plot_nnc(
    rows: pd.DataFrame,
    node: str,
    duration: float,
    path: str | Path | None = None,
    *,
    end: float | None = None,
    thresholds: tuple[float, float] | None = None,
) -> Figure:
    """One node's pool over time, like CNS's sample dashboard: requested by CNS, allocated
    to the node (secondary + primary) and assigned to pods, exhausted spans shaded.

    ``end``: when the node went (default: the end of the run). ``thresholds``: the
    pool monitor's free counts (scale up below the first, release from the second on),
    drawn as the assigned counts at which it acts: requested − each."""
    scale, unit = time_scale(duration)
    # Each row holds until the next one; the last one until the node went or the run ended.
    stop = duration if end is None else max(end, float(rows["time_s"].iloc[-1]))
    t = np.append(rows["time_s"].to_numpy(dtype=float), stop) / scale

    def series(values: pd.Series) -> np.ndarray:
        v = values.to_numpy()
        return np.append(v, v[-1])

    fig = new_figure(path, 10.5, 4.0)
    ax = fig.subplots()
    requested = series(rows["requested_ips"])
    total = series(rows["secondary_ips"] + rows["primary_ips"])
    assigned = series(rows["assigned_ips"])
    ax.step(t, requested, where="post", lw=1.4, label="requested by CNS")
    ax.step(t, total, where="post", lw=1.4, label="allocated to node (total)")
    ax.step(t, assigned, where="post", lw=1.6, label="assigned to pods")
    top = max(int(requested.max()), int(total.max()), int(assigned.max()), 1)
    if thresholds is not None:
        up, down = thresholds
        ax.step(
            t,
            np.maximum(requested - up, 0),
            where="post",
            color="tab:green",
            lw=1,
            ls=":",
            label=f"scale up when assigned is above (requested − {up:g})",
        )
        ax.step(
            t,
            np.maximum(requested - down, 0),
            where="post",
            color="tab:brown",
            lw=1,
            ls="-.",
            label=f"release when assigned is at most (requested − {down:g})",
        )
    max_ips = int(rows["max_ips"].iloc[0])
    if max_ips <= top * 1.5:
        ax.axhline(max_ips, color="black", ls="--", lw=1, label=f"max IPs {max_ips:,}")
        ax.set_ylim(0, max_ips * 1.08 + 1)
    else:
        ax.set_ylim(0, top * 1.15 + 1)
        ax.text(
            0.99,
            0.96,
            f"max IPs {max_ips:,}: above the chart",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "0.7", "alpha": 0.9},
        )
    _shade(ax, t, series(rows["exhausted"].astype(bool)), "subnet marked exhausted")
    ax.set_xlim(0, duration / scale)
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_ylabel("IPs")
    counts_axis(ax)
    ax.set_title(
        f"{node} ({rows['cluster'].iloc[0]}/{rows['node_pool'].iloc[0]}, "
        f"pod subnet {rows['subnet'].iloc[0]})",
        loc="left",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    legend_beside(ax)
    return finish(fig, path)


def plot_holders(holders: pd.DataFrame, title: str, path: str | Path | None = None) -> Figure:
    """One panel per subnet: the addresses each cluster and node pool holds, stacked."""
    names = list(dict.fromkeys(holders["subnet"])) or ["(no subnet)"]
    fig = new_figure(path, 10.5, 2.6 * len(names) + 0.8)
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    duration = float(holders["time_s"].max()) if len(holders) else 0.0
    scale, unit = time_scale(duration)
    for ax, name in zip(axes, names, strict=True):
        frame = holders[holders["subnet"] == name]
        if frame.empty:
            ax.set_title(f"{name}: no addresses held", loc="left", fontsize=10)
            continue
        wide = frame.assign(holder=frame["cluster"] + "/" + frame["node_pool"]).pivot(
            index="time_s", columns="holder", values="allocated"
        )
        t = wide.index.to_numpy() / scale
        ax.stackplot(t, wide.T.to_numpy(), labels=list(wide.columns), step="post", alpha=0.8)
        ax.set_title(f"{name}: addresses held by cluster/node pool", loc="left", fontsize=10)
        ax.set_ylabel("addresses")
        counts_axis(ax)
        ax.grid(alpha=0.3)
        legend_beside(ax)
    axes[-1].set_xlabel(f"simulated time ({unit})")
    fig.suptitle(title, fontsize=11, ha="left", x=0.01)
    return finish(fig, path)
