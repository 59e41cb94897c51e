"""Charts drawn from a result's frames (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a screen
import matplotlib.pyplot as plt
import pandas as pd

__all__ = ["plot_utilization"]


def plot_utilization(
    subnets: pd.DataFrame, events: pd.DataFrame, title: str, path: str | Path
) -> None:
    """One panel per subnet: usable capacity, allocated and assigned addresses over time,
    with the moments a request could not be filled marked."""
    names = list(dict.fromkeys(subnets["subnet"]))
    fig, axes = plt.subplots(
        len(names), 1, figsize=(9, 2.8 * len(names) + 0.6), sharex=True, squeeze=False
    )
    duration = float(subnets["time_s"].max()) if len(subnets) else 0.0
    scale, unit = (3600.0, "h") if duration > 3 * 3600 else (60.0, "min")
    full_kinds = {"subnet_full", "node_failed"}
    for ax, name in zip(axes[:, 0], names, strict=True):
        frame = subnets[subnets["subnet"] == name]
        t = frame["time_s"] / scale
        capacity = int(frame["capacity"].iloc[0])
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
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
