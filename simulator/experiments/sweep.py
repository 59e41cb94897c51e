"""``ipsim sweep``: a grid over scenario keys × replicas, one tidy row per run."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.errors import IpsimError
from simulator.experiments.compare import label, prepare_variants
from simulator.experiments.executors import Executor, run_all
from simulator.experiments.runs import Outcome, RunSpec, run_seeds
from simulator.results.folders import write_folder
from simulator.results.summary import flatten

__all__ = ["Sweep", "summary_row", "sweep"]


def summary_row(outcome: Outcome) -> dict[str, Any]:
    """One run as a flat row: the variant's keys, replica, seed, error and its figures."""
    row: dict[str, Any] = {f"set:{k}": v for k, v in outcome.params.items()}
    row.update(replica=outcome.replica, seed=outcome.seed, error=outcome.error)
    if outcome.summary is not None:
        row.update(flatten(outcome.summary))
    return row


@dataclass
class Sweep:
    name: str
    table: pd.DataFrame

    def varying(self) -> list[str]:
        """The figure columns that take more than one value across the runs."""
        from simulator.charts.planning import varying_figures

        return varying_figures(self.table)

    def summary_table(self) -> pd.DataFrame:
        """One row per combination: its verdict and the median over replicas of every
        figure that varies (a value some replica had: counts stay whole)."""
        keys = [c for c in self.table.columns if c.startswith("set:")]
        rows = []
        for variant, runs in self.table.groupby("variant", sort=False):
            good = runs[runs["error"].isna()]
            row = {"variant": variant, **{k.removeprefix("set:"): runs[k].iloc[0] for k in keys}}
            if good.empty:
                row["verdict"] = "error"
            else:
                fails = int((good["verdict"] == "FAIL").sum())
                row["verdict"] = f"FAIL ({fails} of {len(runs)})" if fails else "PASS"
            if len(good) < len(runs):
                row["verdict"] += f", {len(runs) - len(good)} failed to run"
            for column in self.varying():
                values = good[column].dropna()
                row[column] = values.quantile(0.5, interpolation="lower") if len(values) else None
            rows.append(row)
        return pd.DataFrame(rows)

    def save(self, directory: str | os.PathLike[str], *, force: bool = False) -> Path:
        from simulator.charts.planning import plot_sweep

        def fill(folder: Path) -> None:
            self.table.to_csv(folder / "sweep.csv", index=False)
            if self.table["error"].notna().all():
                return
            keys = [c.removeprefix("set:") for c in self.table.columns if c.startswith("set:")]
            plot_sweep(
                self.table,
                f"{self.name}: what varies with {', '.join(keys) or 'the replica'}",
                folder / "sweep.png",
            )

        return write_folder(directory, fill, force=force)


def sweep(
    path: str | os.PathLike[str],
    settings: list[tuple[str, list[Any]]],
    *,
    cnis: list[str] | None = None,
    replicas: int = 1,
    seed: int | None = None,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
) -> Sweep:
    """Every combination × replica; a run that fails is a row with its error. Raises
    :class:`IpsimError` when every run failed (as ``compare`` does)."""
    document, base, prepared = prepare_variants(path, cnis, settings, strict=False)
    seeds = run_seeds(document, seed, replicas)
    specs = [
        RunSpec(doc, s, base, params, replica=r)
        for params, doc in prepared
        for r, s in enumerate(seeds)
    ]
    outcomes = run_all(specs, executor, progress)
    failed = [o for o in outcomes if o.error is not None]
    if len(failed) == len(outcomes):  # as compare: nothing to tabulate is an error
        raise IpsimError(f"{path}: every run failed; first error: {failed[0].error}")
    rows = []
    for outcome in outcomes:
        row = summary_row(outcome)
        row = {"variant": label(outcome.params), **row}
        rows.append(row)
    return Sweep(str(document.get("name", "scenario")), pd.DataFrame(rows))
