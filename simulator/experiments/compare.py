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

import pandas as pd

from simulator.errors import IpsimError
from simulator.experiments.executors import Executor, run_all
from simulator.experiments.runs import Outcome, RunSpec, run_seeds
from simulator.results.folders import write_folder
from simulator.results.summary import subnet_rows
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


@dataclass
class Comparison:
    """The table (one row per variant and subnet) and the series behind the chart."""

    name: str
    table: pd.DataFrame
    runs: pd.DataFrame
    series: pd.DataFrame

    def save(self, directory: str | os.PathLike[str], *, force: bool = False) -> Path:
        from simulator.charts.planning import plot_comparison

        def fill(folder: Path) -> None:
            self.table.to_csv(folder / "comparison.csv", index=False)
            self.runs.to_csv(folder / "runs.csv", index=False)
            plot_comparison(
                self.series, f"{self.name}: variants compared", folder / "comparison.png"
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
    good = runs[runs["error"].isna()]
    keys = ["variant", *[k for k in prepared[0][0]], "subnet"]
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
    return Comparison(name, table, runs, series)


def _series(outcomes: list[Outcome], varying: set[str]) -> pd.DataFrame:
    """Allocated and assigned over time per variant and subnet, median over replicas."""
    named = [(label(o.params, varying), o.subnets) for o in outcomes if o.subnets is not None]
    return replica_bands(named)


def replica_bands(runs: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """From (variant, subnets frame) per run: per variant, subnet and sample time, the
    median capacity, allocated and assigned, and allocated's p5 and p95 across runs."""
    if not runs:
        return pd.DataFrame(columns=["variant", "subnet", "time_s", "capacity", "allocated"])
    frames = pd.concat(
        [
            frame[["time_s", "subnet", "capacity", "allocated", "assigned"]].assign(variant=name)
            for name, frame in runs
        ],
        ignore_index=True,
    )
    grouped = frames.groupby(["variant", "subnet", "time_s"], sort=False)
    # Values some run had, not interpolated ones: a band of whole addresses.
    values = grouped[["capacity", "allocated", "assigned"]]
    out = values.quantile(0.5, interpolation="lower").reset_index()
    out["allocated_p5"] = grouped["allocated"].quantile(0.05, interpolation="lower").to_numpy()
    out["allocated_p95"] = grouped["allocated"].quantile(0.95, interpolation="higher").to_numpy()
    return out
