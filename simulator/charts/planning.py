"""Charts of many runs: variants compared, replica bands, plan, sweeps, capacity."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from simulator.charts.common import (
    colours,
    counts_axis,
    finish,
    legend_beside,
    new_figure,
    time_scale,
)

__all__ = [
    "plot_capacity",
    "plot_comparison",
    "plot_consumption",
    "plot_plan",
    "plot_sweep",
    "varying_figures",
]

_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
_LINES: list[str | tuple] = ["-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1))]


def plot_comparison(series: pd.DataFrame, title: str, path: str | Path | None = None) -> Figure:
    """A first panel of the VNet addresses every variant holds in all its subnets
    together, then one panel per subnet: allocated over time per variant (median, with a
    p5–p95 band when replicas differ), assigned dashed, usable capacity dotted."""
    names = list(dict.fromkeys(series["subnet"])) or ["(none)"]
    fig = new_figure(path, 10.5, 2.8 * (len(names) + 1) + 0.8)
    axes = fig.subplots(len(names) + 1, 1, sharex=True, squeeze=False)[:, 0]
    duration = float(series["time_s"].max()) if len(series) else 0.0
    scale, unit = time_scale(duration)
    palette = colours()
    variants = list(dict.fromkeys(series["variant"]))
    colour = {v: palette[i % len(palette)] for i, v in enumerate(variants)}
    _totals_panel(axes[0], series, variants, colour, scale)
    for ax, name in zip(axes[1:], names, strict=True):
        frame = series[series["subnet"] == name]
        capacities: dict[int, list[str]] = {}
        peak = 0.0
        for variant, rows in frame.groupby("variant", sort=False):
            t = rows["time_s"] / scale
            ax.step(
                t,
                rows["allocated"],
                where="post",
                color=colour[variant],
                lw=1.5,
                label=str(variant),
            )
            if "allocated_p95" in rows and (rows["allocated_p95"] != rows["allocated_p5"]).any():
                ax.fill_between(
                    t,
                    rows["allocated_p5"],
                    rows["allocated_p95"],
                    step="post",
                    color=colour[variant],
                    alpha=0.15,
                )
            if rows["assigned"].any():
                ax.step(t, rows["assigned"], where="post", color=colour[variant], lw=1, ls="--")
            capacities.setdefault(int(rows["capacity"].iloc[0]), []).append(str(variant))
            peak = max(peak, float(rows.get("allocated_p95", rows["allocated"]).max()))
        _capacities(ax, capacities, peak)
        ax.set_title(
            f"{name}: allocated (solid), assigned to pods (dashed), usable (dotted)",
            loc="left",
            fontsize=10,
        )
        ax.set_ylabel("addresses")
        counts_axis(ax)
        ax.grid(alpha=0.3)
        legend_beside(ax)
    axes[-1].set_xlabel(f"simulated time ({unit})")
    fig.suptitle(title, fontsize=11, ha="left", x=0.01)
    return finish(fig, path)


def _totals_panel(ax: Axes, series: pd.DataFrame, variants, colour, scale: float) -> None:
    """Every VNet subnet's allocated, added up per variant: what each takes from the VNet
    (pod CIDRs are not VNet addresses: their rows are left out)."""
    vnet = series[series["space"] == "vnet"] if "space" in series else series
    totals = vnet.groupby(["variant", "time_s"], sort=False)["allocated"].sum().reset_index()
    for variant in variants:
        rows = totals[totals["variant"] == variant]
        peak = int(rows["allocated"].max()) if len(rows) else 0
        ax.step(
            rows["time_s"] / scale,
            rows["allocated"],
            where="post",
            color=colour[variant],
            lw=1.8,
            label=f"{variant} (peak {peak:,})",
        )
    ax.set_ylim(0, None)
    ax.set_title("VNet addresses allocated, all subnets together", loc="left", fontsize=10)
    ax.set_ylabel("addresses")
    counts_axis(ax)
    ax.grid(alpha=0.3)
    legend_beside(ax)


def plot_consumption(
    series: pd.DataFrame, variants: pd.DataFrame, title: str, path: str | Path | None = None
) -> Figure:
    """What each variant consumes, one figure: VNet addresses held (every subnet
    together) on one panel, pod CIDR addresses held, pods waiting for an address, and
    per variant the nodes that failed and the most nodes its spaces allow."""
    fig = new_figure(path, 10.5, 11)
    axes = fig.subplots(4, 1, gridspec_kw={"height_ratios": [3, 2, 2, 2]})
    duration = float(series["time_s"].max()) if len(series) else 0.0
    scale, unit = time_scale(duration)
    palette = colours()
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
                color=palette[i % len(palette)],
                # Later variants thinner, on top: equal lines (Overlay, kubenet) both show.
                lw=max(3.2 - 0.45 * i, 1.0),
                label=name,
            )
        ax.set_title(heading, loc="left", fontsize=10)
        ax.set_ylabel(ylabel)
        ax.set_xlabel(f"simulated time ({unit})")
        ax.set_ylim(0, None)
        counts_axis(ax)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            legend_beside(ax)
        else:
            ax.text(0.5, 0.5, "none in any variant", ha="center", va="center",
                    transform=ax.transAxes, color="grey")  # fmt: skip
    ax = axes[3]
    x = range(len(names))
    width = 0.4
    failed = ax.bar([i - width / 2 for i in x], variants["nodes_failed"], width,
                    color="tab:red", label="nodes failed")  # fmt: skip
    reach = ax.bar([i + width / 2 for i in x], variants["max_nodes"], width,
                   color="tab:green", label="most nodes the spaces allow")  # fmt: skip
    ax.bar_label(failed, fontsize=8)
    ax.bar_label(reach, fontsize=8)
    ax.set_xticks(list(x), names, fontsize=8)
    ax.set_ylabel("nodes")
    counts_axis(ax)
    ax.set_title(
        "nodes failed, and the most nodes each variant's spaces allow", loc="left", fontsize=10
    )
    ax.grid(alpha=0.3, axis="y")
    legend_beside(ax)
    fig.suptitle(title, fontsize=11, ha="left", x=0.01)
    return finish(fig, path)


def _capacities(ax: Axes, capacities: dict[int, list[str]], peak: float) -> None:
    """Usable capacity lines in view, or the distance stated when far above the data."""
    shown = [c for c in capacities if c <= 4 * max(peak, 1)]
    for capacity in sorted(shown):
        ax.axhline(
            capacity,
            color="black",
            ls=":",
            lw=1,
            label=f"usable {capacity:,}"
            + (f" ({', '.join(capacities[capacity])})" if len(capacities) > 1 else ""),
        )
    top = max([peak * 1.08 + 1, *(c * 1.08 for c in shown)])
    ax.set_ylim(0, top)
    above = sorted(c for c in capacities if c not in shown)
    if above:
        text = "; ".join(f"usable {c:,}: {c - int(top):,} above the top" for c in above)
        ax.text(
            0.99,
            0.96,
            text,
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "0.7", "alpha": 0.9},
        )


def plot_plan(
    table: pd.DataFrame, answer: pd.DataFrame, title: str, path: str | Path | None = None
) -> Figure:
    """One panel per subnet, prefixes from the largest tried to the smallest: usable
    addresses (bars: green passes, red fails, grey not run) and the peak allocated
    (points) on a log scale; the smallest passing prefix, the recommended one and the
    scenario's own marked."""
    names = list(dict.fromkeys(table["subnet"])) or ["(none)"]
    fig = new_figure(path, max(6.0, 5.2 * len(names)), 4.6)
    axes = fig.subplots(1, len(names), squeeze=False)[0, :]
    answers = {row["subnet"]: row for _, row in answer.iterrows()} if len(answer) else {}
    for ax, name in zip(axes, names, strict=True):
        _plan_panel(ax, table[table["subnet"] == name], answers.get(name), name)
    fig.suptitle(title, fontsize=11, ha="left", x=0.01)
    return finish(fig, path)


def _prefix(cidr: object) -> int | None:
    return int(str(cidr).rsplit("/", 1)[1]) if isinstance(cidr, str) and "/" in cidr else None


def _plan_panel(ax: Axes, rows: pd.DataFrame, answer, name: str) -> None:
    by_prefix = rows.groupby("prefix").agg(
        usable=("usable", "first"),
        peak=("peak_allocated", "max"),
        passed=("passed", "all"),
        stopped=("stopped_at_s", lambda s: s.notna().any()),
    )
    original = _prefix(answer["original"]) if answer is not None else None
    best = _prefix(answer["best"]) if answer is not None else None
    recommended = _prefix(answer.get("recommended")) if answer is not None else None
    marked = [p for p in (original, best, recommended) if p is not None]
    lo = min([*by_prefix.index, *marked])
    hi = max([*by_prefix.index, *marked])
    prefixes = list(range(lo, hi + 1))
    x = np.arange(len(prefixes))
    usable = [2 ** (32 - p) - 5 for p in prefixes]
    colours_ = []
    for p in prefixes:
        if p not in by_prefix.index:
            colours_.append("0.85")
        else:
            colours_.append("tab:green" if by_prefix.at[p, "passed"] else "tab:red")
    ax.bar(x, usable, color=colours_, width=0.7)
    keys = [
        Patch(color="tab:green", label="usable: passes"),
        Patch(color="tab:red", label="usable: fails"),
    ]
    if any(p not in by_prefix.index for p in prefixes):
        keys.append(Patch(color="0.85", label="usable: not run"))
    tried = [i for i, p in enumerate(prefixes) if p in by_prefix.index]
    peaks = [by_prefix.at[prefixes[i], "peak"] for i in tried]
    stopped = [bool(by_prefix.at[prefixes[i], "stopped"]) for i in tried]
    full = [(i, v) for i, v, s in zip(tried, peaks, stopped, strict=True) if not s and v > 0]
    cut = [(i, v) for i, v, s in zip(tried, peaks, stopped, strict=True) if s and v > 0]
    if full:
        ax.plot(*zip(*full, strict=True), "ko", ms=6, label="peak allocated")
    if cut:
        ax.plot(
            *zip(*cut, strict=True),
            "o",
            mfc="white",
            mec="black",
            ms=6,
            label="peak until the run was stopped",
        )
    ax.set_yscale("log")
    ax.set_ylim(1, max(usable) * 3)
    ax.set_xticks(x, [f"/{p}" for p in prefixes], fontsize=8, rotation=90 if len(x) > 12 else 0)
    for p, text, colour, height in (
        (best, "smallest passing", "darkgreen", 0.93),
        (recommended, "recommended", "navy", 0.82),
        (original, "scenario's own", "black", 0.71),
    ):
        if p is None:
            continue
        i = prefixes.index(p)
        ax.axvline(i, color=colour, ls="--" if text != "scenario's own" else ":", lw=1.2)
        ax.text(
            i,
            height,
            f" {text} /{p}",
            transform=ax.get_xaxis_transform(),
            color=colour,
            fontsize=8,
            ha="left" if i < len(x) / 2 else "right",
            va="top",
        )
    ax.set_title(f"{name}: usable addresses and peak by prefix", loc="left", fontsize=10)
    ax.set_xlabel("prefix length (smaller subnet to the right)")
    ax.set_ylabel("addresses (log scale)")
    ax.grid(alpha=0.3, axis="y", which="both")
    handles, _ = ax.get_legend_handles_labels()
    legend_beside(ax, handles=keys + handles)


#: Figures a sweep charts when they vary, in this order (``<subnet>.`` ones per subnet).
_SUBNET_FIGURES = (
    "peak_allocated",
    "mean_allocated",
    "peak_assigned",
    "min_free",
    "refused_requests",
    "exhausted_s",
)
_RUN_FIGURES = (
    "nodes.failed",
    "nodes.first_batch_refused",
    "operations_refused",
    "pods.waiting_for_ip_at_end",
    "pods.waited_for_ip",
    "pods.ip_wait_p95_s",
    "pods.ip_wait_max_s",
    "pods.running_at_end",
)


def varying_figures(table: pd.DataFrame) -> list[str]:
    """The figure columns of a sweep that take more than one value across its runs."""
    good = table[table["error"].isna()] if "error" in table else table
    subnets = list(
        dict.fromkeys(c.rsplit(".", 1)[0] for c in good.columns if c.endswith(".capacity"))
    )
    candidates = [f"{s}.{f}" for s in subnets for f in _SUBNET_FIGURES] + list(_RUN_FIGURES)
    out = []
    for column in candidates:
        if column in good and good[column].dropna().nunique() > 1:
            out.append(column)
    return out


def plot_sweep(table: pd.DataFrame, title: str, path: str | Path | None = None) -> Figure:
    """Every figure that varies, one panel each, against the first swept key: the
    median of the replicas as a line (one per combination of the other keys) and every
    run as a dot."""
    good = table[table["error"].isna()] if "error" in table else table
    keys = [c for c in good.columns if c.startswith("set:")]
    x = keys[0] if keys else "replica"
    figures = varying_figures(table)
    panels = figures or ["(nothing varies)"]
    columns = min(3, len(panels))
    rows_n = math.ceil(len(panels) / columns)
    fig = new_figure(path, 4.4 * columns + 1.6, 3.0 * rows_n + 0.8)
    axes = fig.subplots(rows_n, columns, squeeze=False).ravel()
    others = [c for c in keys if c != x]
    groups = list(good.groupby(others, sort=False, dropna=False)) if others else [("", good)]
    positions = {str(v): i for i, v in enumerate(dict.fromkeys(good[x]))}
    palette = colours()
    for ax, column in zip(axes, panels, strict=False):
        if column not in good:
            ax.text(
                0.5,
                0.5,
                "no figure varies across these runs",
                transform=ax.transAxes,
                ha="center",
                va="center",
            )
            continue
        for k, (key, rows) in enumerate(groups):
            colour = palette[k % len(palette)]
            medians = rows.groupby(x, sort=False)[column].median()
            at = [positions[str(v)] for v in medians.index]
            label = ", ".join(str(v) for v in (key if isinstance(key, tuple) else (key,)))
            ax.plot(
                at,
                medians.to_numpy(),
                marker=_MARKERS[k % len(_MARKERS)],
                color=colour,
                label=label or None,
            )
            ax.scatter(
                [positions[str(v)] for v in rows[x]], rows[column], s=10, alpha=0.4, color=colour
            )
        ax.set_xticks(range(len(positions)), list(positions), fontsize=8)
        ax.set_title(column, loc="left", fontsize=9)
        ax.set_xlabel(x.removeprefix("set:").split(".")[-1], fontsize=8)
        if not column.endswith("_s"):
            counts_axis(ax)
        ax.grid(alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    if others and figures:
        axes[columns - 1].legend(
            title=", ".join(o.removeprefix("set:") for o in others),
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
        )
    fig.suptitle(title, fontsize=11, ha="left", x=0.01)
    return finish(fig, path)


def plot_capacity(table: pd.DataFrame, title: str, path: str | Path | None = None) -> Figure:
    """Largest pod count each prefix holds, per mode (log scale): each mode its own
    marker and line style, and modes that hold the same say so in the legend."""
    fig = new_figure(path, 9.5, 4.4)
    ax = fig.subplots()
    drawn: dict[tuple[int, ...], str] = {}
    palette = colours()
    for i, (mode, rows) in enumerate(table.groupby("mode", sort=False)):
        rows = rows.sort_values("prefix", ascending=False)
        pods = tuple(int(v) for v in rows["pods"])
        same = drawn.get(pods)
        label = f"{mode} (same as {same})" if same else str(mode)
        drawn.setdefault(pods, str(mode))
        ax.plot(
            [f"/{p}" for p in rows["prefix"]],
            rows["pods"].clip(lower=0.8),
            marker=_MARKERS[i % len(_MARKERS)],
            ms=9 - 2 * (i % 3),
            mfc="none" if i % 2 else colours()[i % len(palette)],
            ls=_LINES[i % len(_LINES)],
            lw=2.2 - 0.5 * (i % 3),
            color=palette[i % len(palette)],
            label=label,
        )
    ax.set_yscale("log")
    ax.set_xlabel("subnet prefix length")
    ax.set_ylabel("pods the subnet holds")
    ax.grid(alpha=0.3, which="both")
    legend_beside(ax)
    ax.set_title(title, loc="left", fontsize=10)
    return finish(fig, path)
