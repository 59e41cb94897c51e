"""Charts of many runs: variants compared, replica bands, plan headroom, sweeps, capacity."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a screen
import matplotlib.pyplot as plt
import pandas as pd

from simulator.charts.run import _time_scale

__all__ = [
    "plot_capacity",
    "plot_comparison",
    "plot_consumption",
    "plot_plan",
    "plot_sweep",
]


def _save(fig: plt.Figure, path: str | Path | None) -> plt.Figure:
    """Write the chart to ``path``; without a path, return it (for notebooks)."""
    fig.tight_layout()
    if path is None:
        return fig
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return fig


def plot_comparison(series: pd.DataFrame, title: str, path: str | Path | None = None) -> plt.Figure:
    """One panel per subnet: allocated over time per variant (median, p5–p95 band when
    there are replicas), assigned dashed, usable capacity dotted."""
    names = list(dict.fromkeys(series["subnet"])) or ["(none)"]
    fig, axes = plt.subplots(
        len(names), 1, figsize=(9, 3.0 * len(names) + 0.6), sharex=True, squeeze=False
    )
    duration = float(series["time_s"].max()) if len(series) else 0.0
    scale, unit = _time_scale(duration)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, name in zip(axes[:, 0], names, strict=True):
        frame = series[series["subnet"] == name]
        capacities = set()
        for i, (variant, rows) in enumerate(frame.groupby("variant", sort=False)):
            colour = colours[i % len(colours)]
            t = rows["time_s"] / scale
            ax.step(t, rows["allocated"], where="post", color=colour, lw=1.5, label=variant)
            if (rows["allocated_p95"] != rows["allocated_p5"]).any():
                ax.fill_between(
                    t,
                    rows["allocated_p5"],
                    rows["allocated_p95"],
                    step="post",
                    color=colour,
                    alpha=0.15,
                )
            ax.step(t, rows["assigned"], where="post", color=colour, lw=1, ls="--")
            capacities.add(int(rows["capacity"].iloc[0]))
        for capacity in sorted(capacities):
            ax.axhline(capacity, color="black", ls=":", lw=1)
        ax.set_title(
            f"{name}: allocated (solid), assigned to pods (dashed), usable (dotted)",
            loc="left",
            fontsize=10,
        )
        ax.set_ylabel("addresses")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8, framealpha=0.85)
    axes[-1, 0].set_xlabel(f"simulated time ({unit})")
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def plot_consumption(
    series: pd.DataFrame, variants: pd.DataFrame, title: str, path: str | Path | None = None
) -> plt.Figure:
    """What each variant consumes, one figure: VNet addresses held (every subnet
    together) on one panel, pod CIDR addresses held, pods waiting for an address, and
    per variant the nodes that failed and the most nodes its spaces allow."""
    fig, axes = plt.subplots(4, 1, figsize=(9, 11), gridspec_kw={"height_ratios": [3, 2, 2, 2]})
    duration = float(series["time_s"].max()) if len(series) else 0.0
    scale, unit = _time_scale(duration)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    names = list(dict.fromkeys(variants["variant"]))
    panels = [
        ("vnet_allocated", "VNet addresses held, all subnets together", "addresses"),
        ("pod_cidr_allocated", "pod CIDR addresses held (not VNet addresses)", "addresses"),
        ("pods_waiting", "pods bound to a node and waiting for an address", "pods"),
    ]
    for ax, (column, heading, ylabel) in zip(axes[:3], panels, strict=True):
        for i, name in enumerate(names):
            rows = series[series["variant"] == name]
            if column != "vnet_allocated" and not rows[column].any():
                continue  # nothing to draw: keep the legend to the variants that have it
            ax.step(
                rows["time_s"] / scale,
                rows[column],
                where="post",
                color=colours[i % len(colours)],
                # Later variants thinner, on top: equal lines (Overlay, kubenet) both show.
                lw=max(3.2 - 0.45 * i, 1.0),
                label=name,
            )
        ax.set_title(heading, loc="left", fontsize=10)
        ax.set_ylabel(ylabel)
        ax.set_xlabel(f"simulated time ({unit})")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8, framealpha=0.85)
        else:
            ax.text(
                0.5,
                0.5,
                "none in any variant",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="grey",
            )
    ax = axes[3]
    x = range(len(names))
    width = 0.4
    failed = ax.bar(
        [i - width / 2 for i in x],
        variants["nodes_failed"],
        width,
        color="tab:red",
        label="nodes failed",
    )
    reach = ax.bar(
        [i + width / 2 for i in x],
        variants["max_nodes"],
        width,
        color="tab:green",
        label="most nodes the spaces allow",
    )
    ax.bar_label(failed, fontsize=8)
    ax.bar_label(reach, fontsize=8)
    ax.set_xticks(list(x), names, fontsize=8)
    ax.set_ylabel("nodes")
    ax.set_title(
        "nodes failed, and the most nodes each variant's spaces allow", loc="left", fontsize=10
    )
    ax.grid(alpha=0.3, axis="y")
    ax.legend(loc="best", fontsize=8, framealpha=0.85)
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def plot_plan(table: pd.DataFrame, title: str, path: str | Path | None = None) -> plt.Figure:
    """Headroom (usable − peak allocated) against prefix length, per subnet; failures red."""
    names = list(dict.fromkeys(table["subnet"])) or ["(none)"]
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names) + 1, 3.6), squeeze=False)
    for ax, name in zip(axes[0, :], names, strict=True):
        rows = table[table["subnet"] == name].sort_values("prefix")
        by_prefix = rows.groupby("prefix").agg(
            headroom=("headroom", "min"), passed=("passed", "all")
        )
        colours = ["tab:green" if ok else "tab:red" for ok in by_prefix["passed"]]
        ax.bar([f"/{p}" for p in by_prefix.index], by_prefix["headroom"], color=colours)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_title(f"{name}: headroom at peak (green: passes)", loc="left", fontsize=10)
        ax.set_xlabel("prefix length")
        ax.set_ylabel("usable − peak allocated")
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def plot_sweep(
    table: pd.DataFrame, x: str, y: str, title: str, path: str | Path | None = None
) -> plt.Figure:
    """``y`` against swept key ``x``: one line per other combination, replicas as dots."""
    fig, ax = plt.subplots(figsize=(8, 4))
    good = table[table["error"].isna()] if "error" in table else table
    others = [c for c in good.columns if c.startswith("set:") and c != x]
    groups = good.groupby(others, sort=False, dropna=False) if others else [("", good)]
    for key, rows in groups:
        means = rows.groupby(x, sort=False)[y].median()
        name = ", ".join(str(k) for k in (key if isinstance(key, tuple) else (key,))) or y
        ax.plot([str(v) for v in means.index], means.to_numpy(), marker="o", label=name)
        ax.scatter([str(v) for v in rows[x]], rows[y], s=10, alpha=0.4)
    ax.set_xlabel(x.removeprefix("set:"))
    ax.set_ylabel(y)
    ax.grid(alpha=0.3)
    if others:
        ax.legend(fontsize=8, title=", ".join(o.removeprefix("set:") for o in others))
    ax.set_title(title, loc="left", fontsize=10)
    return _save(fig, path)


def plot_capacity(table: pd.DataFrame, title: str, path: str | Path | None = None) -> plt.Figure:
    """Largest pod count each prefix holds, per mode (log scale)."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for i, (mode, rows) in enumerate(table.groupby("mode", sort=False)):
        rows = rows.sort_values("prefix", ascending=False)
        ax.plot(
            [f"/{p}" for p in rows["prefix"]],
            rows["pods"].clip(lower=0.8),
            marker="o",
            # Later modes thinner, on top: equal lines (Overlay, kubenet) both show.
            lw=max(3.2 - 0.45 * i, 1.0),
            markersize=max(8 - i, 3),
            label=mode,
        )
    ax.set_yscale("log")
    ax.set_xlabel("subnet prefix length (the subnet that limits the mode: see capacity.csv)")
    ax.set_ylabel("pods the subnet holds")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9)
    ax.set_title(title, loc="left", fontsize=10)
    return _save(fig, path)
