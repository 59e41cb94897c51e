"""Charts drawn from a result's frames (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a screen
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["plot_holders", "plot_nnc", "plot_utilization"]


def _finish(fig: plt.Figure, path: str | Path | None) -> plt.Figure:
    """Write the chart to ``path``; without a path, return it open (for notebooks)."""
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def _time_scale(duration: float) -> tuple[float, str]:
    return (3600.0, "h") if duration > 3 * 3600 else (60.0, "min")


def _shade(ax: plt.Axes, t: pd.Series | np.ndarray, flag: np.ndarray, label: str) -> None:
    """Shade the spans where ``flag`` holds (a step function sampled at ``t``)."""
    t = np.asarray(t, dtype=float)
    first = True
    i = 0
    while i < len(flag):
        if flag[i]:
            j = i
            while j + 1 < len(flag) and flag[j + 1]:
                j += 1
            end = t[j + 1] if j + 1 < len(t) else t[j]
            ax.axvspan(
                t[i], end, color="tab:purple", alpha=0.12, lw=0, label=label if first else None
            )
            first = False
            i = j + 1
        else:
            i += 1


def plot_utilization(
    subnets: pd.DataFrame, events: pd.DataFrame, title: str, path: str | Path | None = None
) -> plt.Figure:
    """One panel per subnet: usable capacity, allocated and assigned addresses over time,
    with the moments a request could not be filled marked."""
    names = list(dict.fromkeys(subnets["subnet"]))
    fig, axes = plt.subplots(
        len(names), 1, figsize=(9, 2.8 * len(names) + 0.6), sharex=True, squeeze=False
    )
    duration = float(subnets["time_s"].max()) if len(subnets) else 0.0
    scale, unit = _time_scale(duration)
    full_kinds = {"subnet_full", "node_failed"}
    for ax, name in zip(axes[:, 0], names, strict=True):
        frame = subnets[subnets["subnet"] == name]
        t = frame["time_s"] / scale
        capacity = int(frame["capacity"].iloc[0])
        reserved = int(frame["reserved"].iloc[0]) if "reserved" in frame else 0
        if reserved:
            ax.axhspan(
                0, reserved, color="tab:gray", alpha=0.25, lw=0,
                label=f"reserved: held by other consumers ({reserved:,})",
            )  # fmt: skip
        ax.fill_between(
            t,
            frame["allocated"],
            step="post",
            alpha=0.35,
            color="tab:blue",
            label="allocated (held by nodes)",
        )
        ax.step(t, frame["allocated"], where="post", color="tab:blue", lw=1.2)
        ax.step(
            t,
            frame["assigned"],
            where="post",
            color="tab:orange",
            lw=1.6,
            label="assigned (used by pods)",
        )
        capacity_line = ax.axhline(
            capacity, color="black", ls="--", lw=1, label=f"usable capacity ({capacity:,})"
        )
        if "exhausted" in frame and frame["exhausted"].any():
            _shade(ax, t, frame["exhausted"].to_numpy(dtype=bool), "subnet marked exhausted")
        full = events[(events["subnet"] == name) & events["kind"].isin(full_kinds)]
        for i, when in enumerate(sorted(set(full["time_s"]))):
            ax.axvline(
                when / scale,
                color="tab:red",
                lw=0.8,
                alpha=0.6,
                label="request refused: subnet full" if i == 0 else None,
            )
        peak = int(frame["allocated"].max())
        share = peak / capacity if capacity else 0.0
        ax.set_title(
            f"{name} {frame['cidr'].iloc[0]}: peak {peak:,} of {capacity:,} usable ({share:.0%})",
            loc="left",
            fontsize=10,
        )
        ax.set_ylabel("addresses")
        # A large subnet would flatten the lines: then zoom in and say so in the legend.
        top = capacity if capacity <= 4 * max(peak, 1) else max(peak, 1) * 1.5
        if top < capacity:
            capacity_line.set_label(f"usable capacity {capacity:,} (above the chart)")
        ax.set_ylim(0, top * 1.08 + 1)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8, framealpha=0.85)
    axes[-1, 0].set_xlabel(f"simulated time ({unit})")
    fig.suptitle(title, fontsize=11)
    return _finish(fig, path)


def plot_nnc(
    rows: pd.DataFrame,
    node: str,
    duration: float,
    path: str | Path | None = None,
    *,
    end: float | None = None,
) -> plt.Figure:
    """One node's pool over time, like CNS's sample dashboard: requested by CNS, allocated
    to the node (secondary + primary) and assigned to pods, exhausted spans shaded.
    ``end``: when the node went (default: the end of the run)."""
    scale, unit = _time_scale(duration)
    # Each row holds until the next one; the last one until the node went or the run ended.
    stop = duration if end is None else max(end, float(rows["time_s"].iloc[-1]))
    t = np.append(rows["time_s"].to_numpy(dtype=float), stop) / scale

    def series(values: pd.Series) -> np.ndarray:
        v = values.to_numpy()
        return np.append(v, v[-1])

    fig, ax = plt.subplots(figsize=(9, 3.6))
    total = rows["secondary_ips"] + rows["primary_ips"]
    ax.step(t, series(rows["requested_ips"]), where="post", lw=1.4, label="requested by CNS")
    ax.step(t, series(total), where="post", lw=1.4, label="allocated to node (total)")
    ax.step(t, series(rows["assigned_ips"]), where="post", lw=1.6, label="assigned to pods")
    ax.axhline(int(rows["max_ips"].iloc[0]), color="black", ls="--", lw=1, label="max IPs")
    flag = series(rows["exhausted"].astype(bool))
    if flag.any():
        _shade(ax, t, flag, "subnet marked exhausted")
    ax.set_xlim(0, duration / scale)
    ax.set_ylim(0, None)
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_ylabel("IPs")
    ax.set_title(
        f"{node} ({rows['cluster'].iloc[0]}/{rows['node_pool'].iloc[0]}, "
        f"pod subnet {rows['subnet'].iloc[0]})",
        loc="left",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8, framealpha=0.85)
    return _finish(fig, path)


def plot_holders(holders: pd.DataFrame, title: str, path: str | Path | None = None) -> plt.Figure:
    """One panel per subnet: the addresses each cluster and node pool holds, stacked."""
    names = list(dict.fromkeys(holders["subnet"])) or ["(no subnet)"]
    fig, axes = plt.subplots(
        len(names), 1, figsize=(9, 2.6 * len(names) + 0.6), sharex=True, squeeze=False
    )
    duration = float(holders["time_s"].max()) if len(holders) else 0.0
    scale, unit = _time_scale(duration)
    for ax, name in zip(axes[:, 0], names, strict=True):
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
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8, framealpha=0.85)
    axes[-1, 0].set_xlabel(f"simulated time ({unit})")
    fig.suptitle(title, fontsize=11)
    return _finish(fig, path)
