"""``ipsim sweep``: a grid over scenario keys × replicas, one tidy row per run."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .batch import Executor, LocalExecutor, Outcome, RunSpec, replica_seeds
from .compare import label, prepare_variants
from .errors import IpsimError
from .folders import write_folder

__all__ = ["Sweep", "summary_row", "sweep"]


def summary_row(outcome: Outcome) -> dict[str, Any]:
    """The figures of one run's summary, flattened: ``<subnet>.peak_allocated`` etc."""
    row: dict[str, Any] = {f"set:{k}": v for k, v in outcome.params.items()}
    row.update(replica=outcome.replica, seed=outcome.seed, error=outcome.error)
    s = outcome.summary
    if s is None:
        return row
    for name, sub in s["subnets"].items():
        for key in (
            "capacity",
            "peak_allocated",
            "mean_allocated",
            "peak_assigned",
            "min_free",
            "full_at_s",
            "refused_requests",
            "exhausted_s",
        ):
            row[f"{name}.{key}"] = sub[key]
    for key, value in s["nodes"].items():
        row[f"nodes.{key}"] = value
    pods = s["pods"]
    for key in ("created", "running_at_end", "waiting_for_ip_at_end", "waited_for_ip"):
        row[f"pods.{key}"] = pods[key]
    for key, value in pods["ip_wait_s"].items():
        row[f"pods.ip_wait_{key}_s"] = value
    row["operations_refused"] = s.get("operations_refused", 0)
    return row


@dataclass
class Sweep:
    name: str
    table: pd.DataFrame

    def chart_columns(self) -> tuple[str, str]:
        """The first swept key and the first subnet's peak allocated."""
        x = next((c for c in self.table.columns if c.startswith("set:")), "replica")
        y = next((c for c in self.table.columns if c.endswith(".peak_allocated")), "pods.created")
        return x, y

    def save(self, directory: str | os.PathLike[str], *, force: bool = False) -> Path:
        from .planning_charts import plot_sweep

        def fill(folder: Path) -> None:
            self.table.to_csv(folder / "sweep.csv", index=False)
            x, y = self.chart_columns()
            if self.table["error"].notna().all():
                return
            plot_sweep(
                self.table,
                x,
                y,
                f"{self.name}: {y} by {x.removeprefix('set:')}",
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
    first = seed if seed is not None else int(document.get("seed", 0) or 0)
    seeds = replica_seeds(first, replicas) if replicas > 1 else [first]
    specs = [
        RunSpec(doc, s, base, params, replica=r)
        for params, doc in prepared
        for r, s in enumerate(seeds)
    ]
    executor = executor or LocalExecutor(1)
    outcomes = executor.map(specs, progress)
    failed = [o for o in outcomes if o.error is not None]
    if len(failed) == len(outcomes):  # as compare: nothing to tabulate is an error
        raise IpsimError(f"{path}: every run failed; first error: {failed[0].error}")
    rows = []
    for outcome in outcomes:
        row = summary_row(outcome)
        row = {"variant": label(outcome.params), **row}
        rows.append(row)
    return Sweep(str(document.get("name", "scenario")), pd.DataFrame(rows))
