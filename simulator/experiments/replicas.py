"""``ipsim run --replicas R``: one scenario under R independent seeds, with the spread."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import IpsimError
from simulator.experiments.compare import replica_bands
from simulator.experiments.executors import Executor, run_all
from simulator.experiments.runs import Outcome, RunSpec, base_seed, replica_seeds
from simulator.experiments.sweep import summary_row
from simulator.results.folders import write_folder
from simulator.scenario.checks import with_checks
from simulator.scenario.loader import read_document

__all__ = ["Replicas", "run_replicas"]


@dataclass
class Replicas:
    """Every replica's result, a row per replica and the spread of each figure."""

    name: str
    outcomes: list[Outcome]
    table: pd.DataFrame

    def spread(self) -> dict[str, dict[str, float]]:
        """Median, p5, p95, min and max of every numeric figure across replicas."""
        out: dict[str, dict[str, float]] = {}
        numeric = self.table.drop(columns=["replica", "seed"]).select_dtypes("number")
        for column in numeric.columns:
            values = numeric[column].dropna().to_numpy(dtype=float)
            if not len(values):
                continue
            # Values some replica had (counts stay whole): the median and p5 from below,
            # p95 from above, so the band holds at least 90 % of the replicas.
            out[column] = {
                "median": round(float(np.percentile(values, 50, method="lower")), 3),
                "p5": round(float(np.percentile(values, 5, method="lower")), 3),
                "p95": round(float(np.percentile(values, 95, method="higher")), 3),
                "min": round(float(values.min()), 3),
                "max": round(float(values.max()), 3),
            }
        return out

    def verdicts(self) -> list[str]:
        """Each replica's verdict, PASS or FAIL (a replica that could not run: FAIL)."""
        return [o.summary["verdict"] if o.summary else "FAIL" for o in self.outcomes]

    def series(self) -> pd.DataFrame:
        """Each subnet's allocated over time: median and p5–p95 across replicas."""
        return replica_bands(
            [("median of replicas", o.result.subnets) for o in self.outcomes if o.result]
        )

    def save(
        self, directory: str | os.PathLike[str], *, force: bool = False, report: bool = False
    ) -> Path:
        from simulator.charts.planning import plot_comparison

        def fill(folder: Path) -> None:
            for o in self.outcomes:
                if o.result is not None:
                    sub = folder / f"replica-{o.replica:03d}"
                    sub.mkdir()
                    o.result.write_files(sub)
            self.table.to_csv(folder / "replicas.csv", index=False)
            summary = {
                "scenario": self.name,
                "replicas": len(self.outcomes),
                "seeds": [o.seed for o in self.outcomes],
                "failed": [o.replica for o in self.outcomes if o.error],
                "verdicts": self.verdicts(),
                "spread": self.spread(),
            }
            (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            plot_comparison(
                self.series(),
                f"{self.name}: {len(self.outcomes)} replicas (median, p5-p95 band)",
                folder / "utilization.png",
            )
            if report:
                from simulator.results.report import write_report

                write_report(folder, folder / "report.html")

        return write_folder(directory, fill, force=force)


def run_replicas(
    path: str | os.PathLike[str],
    replicas: int,
    *,
    seed: int | None = None,
    checks: dict[str, Any] | None = None,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
) -> Replicas:
    """Run the scenario under ``replicas`` seeds spawned from its seed (``checks``: the
    command line's ``--checks`` over the scenario's)."""
    document = with_checks(read_document(path), checks) if checks else read_document(path)
    base = str(Path(path).resolve().parent)
    specs = [
        RunSpec(document, s, base, {}, replica=r, keep_result=True)
        for r, s in enumerate(replica_seeds(base_seed(document, seed), replicas))
    ]
    outcomes = run_all(specs, executor, progress)
    if all(o.error for o in outcomes):
        raise IpsimError(f"{path}: every replica failed; first error: {outcomes[0].error}")
    rows: list[dict[str, Any]] = [summary_row(o) for o in outcomes]
    return Replicas(str(document.get("name")), outcomes, pd.DataFrame(rows))
