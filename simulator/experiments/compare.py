"""``ipsim compare``: one scenario under several CNI modes and settings, side by side.

Every variant runs with the same seeds, so each replays the very same pods (common
random numbers): differences in the table come from the variant, not from chance.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import IpsimError
from simulator.experiments.executors import Executor, run_all
from simulator.experiments.runs import Outcome, RunSpec, run_seeds
from simulator.results.folders import write_folder
from simulator.results.summary import run_row, subnet_rows
from simulator.scenario.loader import load_scenario, read_document
from simulator.scenario.variants import apply_settings, variants

__all__ = ["Comparison", "compare", "label", "prepare_variants", "replica_bands"]

#: comparison.csv columns after the variant's own.
METRICS = [
    "capacity",
    "peak_allocated",
    "mean_allocated",
    "peak_assigned",
    "mean_assigned",
    "ips_per_pod",
    "nodes_failed",
    "operations_refused",
    "pods_waited",
    "p95_wait_s",
    "max_wait_s",
]


def label(params: dict[str, Any], varying: set[str] | None = None) -> str:
    """A short name for a variant: ``dynamic max_pods=30``; with ``varying``, only the
    keys whose value differs between variants are named."""
    parts = []
    for key, value in params.items():
        if varying is not None and key not in varying:
            continue
        if key == "cni":
            parts.append(str(value))
        else:
            parts.append(f"{key.split('.')[-1]}={value}")
    return " ".join(parts) or "scenario"


def prepare_variants(
    path: str | os.PathLike[str],
    cnis: list[str] | None,
    settings: list[tuple[str, list[Any]]],
    *,
    strict: bool = True,
) -> tuple[dict[str, Any], str, list[tuple[dict[str, Any], dict[str, Any]]]]:
    """The scenario document, its folder and each variant's (params, document).

    ``strict``: every variant is validated up front, so a bad one is reported before
    anything runs. Otherwise a variant whose settings do not fit becomes a document that
    fails with that error when it runs (a sweep's row, not a crash)."""
    document = read_document(path)
    base = str(Path(path).resolve().parent)
    out = []
    for params in variants(cnis, settings):
        sets = {k: v for k, v in params.items() if k != "cni"}
        try:
            doc = apply_settings(document, sets, params.get("cni"))
            if strict:
                load_scenario(doc, base=base)
        except IpsimError as exc:
            if strict:
                raise IpsimError(f"{path}: variant {label(params)}: {exc}") from None
            doc = {"__invalid__": str(exc)}
        out.append((params, doc))
    return document, base, out


#: variants.csv columns after the variant's own: one row per variant, medians.
VARIANT_METRICS = [
    "vnet_peak_addresses",
    "vnet_final_addresses",
    "vnet_peak_mappings",
    "pod_cidr_peak_blocks",
    "pod_cidr_peak_addresses",
    "nodes_failed",
    "operations_refused",
    "pods_waited",
    "pods_waiting_at_end",
    "p95_wait_s",
    "max_nodes",
]


@dataclass
class Comparison:
    """The tables (one row per variant and address space; one per variant) and the
    series behind the charts."""

    name: str
    table: pd.DataFrame
    runs: pd.DataFrame
    series: pd.DataFrame
    variants: pd.DataFrame | None = None
    consumption: pd.DataFrame | None = None

    def save(self, directory: str | os.PathLike[str], *, force: bool = False) -> Path:
        from simulator.charts.planning import plot_comparison, plot_consumption

        def fill(folder: Path) -> None:
            self.table.to_csv(folder / "comparison.csv", index=False)
            self.runs.to_csv(folder / "runs.csv", index=False)
            plot_comparison(
                self.series, f"{self.name}: variants compared", folder / "comparison.png"
            )
            if self.variants is not None and self.consumption is not None:
                self.variants.to_csv(folder / "variants.csv", index=False)
                plot_consumption(
                    self.consumption,
                    self.variants,
                    f"{self.name}: what each variant consumes",
                    folder / "consumption.png",
                )

        return write_folder(directory, fill, force=force)


def _rows(outcome: Outcome, varying: set[str]) -> list[dict[str, Any]]:
    base = {
        "variant": label(outcome.params, varying),
        **outcome.params,
        "replica": outcome.replica,
        "seed": outcome.seed,
    }
    if outcome.error is not None or outcome.summary is None:
        return [{**base, "error": outcome.error}]
    return [{**base, **row, "error": None} for row in subnet_rows(outcome.summary)]


def compare(
    path: str | os.PathLike[str],
    *,
    cnis: list[str] | None = None,
    settings: list[tuple[str, list[Any]]] | None = None,
    replicas: int = 1,
    seed: int | None = None,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
) -> Comparison:
    """Run every variant × replica and tabulate them."""
    document, base, prepared = prepare_variants(path, cnis, settings or [])
    name = str(document.get("name", "scenario"))
    seeds = run_seeds(document, seed, replicas)
    specs = [
        RunSpec(doc, s, base, params, replica=r, keep_frames=True)
        for params, doc in prepared
        for r, s in enumerate(seeds)
    ]
    outcomes = run_all(specs, executor, progress)
    keys = list(prepared[0][0])
    varying = {k for k in keys if len({repr(p[k]) for p, _ in prepared}) > 1} or set(keys)
    runs = pd.DataFrame([row for o in outcomes for row in _rows(o, varying)])
    failed = runs[runs["error"].notna()] if "error" in runs else runs.iloc[:0]
    if len(failed) == len(runs):
        raise IpsimError(f"{path}: every run failed; first error: {failed['error'].iloc[0]}")
    # Figures a space does not have (a pod CIDR's waits, say) are missing: NaN, not None.
    good = runs[runs["error"].isna()].astype(dict.fromkeys(METRICS, float))
    keys = ["variant", *[k for k in prepared[0][0]], "subnet", "space"]
    # The median as a value some replica had (counts stay whole).
    grouped = good.groupby(keys, sort=False, dropna=False)[METRICS]
    table = grouped.quantile(0.5, interpolation="lower").reset_index()
    table.insert(len(keys), "replicas", good.groupby(keys, sort=False).size().to_numpy())
    fails = good.groupby(keys, sort=False, dropna=False)["verdict"].agg(
        lambda v: int((v == "FAIL").sum())
    )
    table.insert(
        len(keys) + 1,
        "verdict",
        [
            f"FAIL ({n} of {r})" if n else "PASS"
            for n, r in zip(fails, table["replicas"], strict=True)
        ],
    )
    for column in METRICS:  # medians of whole numbers stay whole when they are
        values = table[column]
        if values.notna().all() and (values % 1 == 0).all():
            table[column] = values.astype("int64")
    series = _series(outcomes, varying)
    rows = pd.DataFrame(
        [
            {"variant": label(o.params, varying), **o.params, **run_row(o.summary)}
            for o in outcomes
            if o.summary is not None
        ]
    )
    keys = ["variant", *prepared[0][0]]
    variants = rows.groupby(keys, sort=False, dropna=False)[VARIANT_METRICS].median()
    variants = variants.reset_index()
    variants.insert(len(keys), "replicas", rows.groupby(keys, sort=False).size().to_numpy())
    for column in VARIANT_METRICS:
        values = variants[column]
        if values.notna().all() and (values % 1 == 0).all():
            variants[column] = values.astype("int64")
    return Comparison(name, table, runs, series, variants, _consumption(outcomes, varying))


def _consumption(outcomes: list[Outcome], varying: set[str]) -> pd.DataFrame:
    """Per variant and sample time, medians over replicas: VNet addresses held (all
    subnets together), pod CIDR addresses held, and pods waiting for an address."""
    frames = []
    for o in outcomes:
        if o.subnets is None or o.pods is None:
            continue
        subnets = o.subnets
        grid = np.unique(subnets["time_s"].to_numpy())
        by_space = subnets.groupby(["space", "time_s"])["allocated"].sum()

        def held(space: str, by_space: pd.Series = by_space, grid: np.ndarray = grid) -> np.ndarray:
            if space not in by_space.index.get_level_values(0):
                return np.zeros(len(grid))
            return by_space.loc[space].reindex(grid, fill_value=0).to_numpy(dtype=float)

        # A pod waits from its binding for ip_wait_s (to its address, its end, or the end).
        waits = o.pods.dropna(subset=["scheduled_s", "ip_wait_s"])
        waits = waits[waits["ip_wait_s"] > 0]
        start = np.sort(waits["scheduled_s"].to_numpy())
        stop = np.sort((waits["scheduled_s"] + waits["ip_wait_s"]).to_numpy())
        waiting = np.searchsorted(start, grid, side="right") - np.searchsorted(
            stop, grid, side="right"
        )
        frames.append(
            pd.DataFrame(
                {
                    "variant": label(o.params, varying),
                    "time_s": grid,
                    "vnet_allocated": held("vnet"),
                    "pod_cidr_allocated": held("pod_cidr"),
                    "pods_waiting": waiting.astype(float),
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            columns=["variant", "time_s", "vnet_allocated", "pod_cidr_allocated", "pods_waiting"]
        )
    frame = pd.concat(frames, ignore_index=True)
    return frame.groupby(["variant", "time_s"], sort=False).median().reset_index()


def _series(outcomes: list[Outcome], varying: set[str]) -> pd.DataFrame:
    """Allocated and assigned over time per variant and subnet, median over replicas."""
    named = [(label(o.params, varying), o.subnets) for o in outcomes if o.subnets is not None]
    return replica_bands(named)


def replica_bands(runs: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """From (variant, subnets frame) per run: per variant, address space and sample time,
    the median capacity, allocated and assigned, and allocated's p5 and p95 across runs.
    ``space`` says which rows are VNet addresses (``vnet``) and which a pod CIDR's."""
    if not runs:
        return pd.DataFrame(
            columns=["variant", "subnet", "space", "time_s", "capacity", "allocated"]
        )
    columns = ["time_s", "subnet", "space", "capacity", "allocated", "assigned"]
    frames = pd.concat(
        [frame[columns].assign(variant=name) for name, frame in runs], ignore_index=True
    )
    grouped = frames.groupby(["variant", "subnet", "space", "time_s"], sort=False)
    # Values some run had, not interpolated ones: a band of whole addresses.
    values = grouped[["capacity", "allocated", "assigned"]]
    out = values.quantile(0.5, interpolation="lower").reset_index()
    out["allocated_p5"] = grouped["allocated"].quantile(0.05, interpolation="lower").to_numpy()
    out["allocated_p95"] = grouped["allocated"].quantile(0.95, interpolation="higher").to_numpy()
    return out
