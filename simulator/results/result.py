"""A run's result: frames built once from the records, the summary, and saving it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from simulator.model.clock import collector_paused
from simulator.results.folders import check_target, write_folder
from simulator.results.frames import (
    changes,
    holder_frame,
    node_frame,
    pod_frame,
    sample_grid_of,
    subnet_frame,
)
from simulator.results.nnc_frame import nnc_frame
from simulator.results.pod_series import pods_over_time
from simulator.results.replay import replay_results, write_replay_csv
from simulator.results.summary import summarize
from simulator.scenario.loader import write_document
from simulator.scenario.models import Scenario

if TYPE_CHECKING:
    from simulator.model.world import World

__all__ = ["Result", "build_result", "check_target"]


@dataclass
class Result:
    """Everything one run produced. ``save(dir)`` writes it as files."""

    scenario: Scenario
    seed: int
    summary: dict[str, Any]
    subnets: pd.DataFrame
    nnc: pd.DataFrame
    nodes: pd.DataFrame
    pods: pd.DataFrame
    events: pd.DataFrame
    holders: pd.DataFrame
    #: Trace workloads' replays: one row per trace pod, and the replay check (None
    #: when the scenario replays no trace).
    replay: pd.DataFrame | None = None
    replay_check: dict[str, Any] | None = None

    def save(
        self, directory: str | os.PathLike[str], *, force: bool = False, report: bool = False
    ) -> Path:
        """Write the results folder atomically; an existing one only with ``force``.
        ``report``: also ``report.html``, the folder as one page."""

        def fill(folder: Path) -> None:
            self.write_files(folder)
            if report:
                from simulator.results.report import write_report

                write_report(folder, folder / "report.html")

        return write_folder(directory, fill, force=force)

    def pods_over_time(self) -> pd.DataFrame:
        """Pods waiting for an address and pending, on the grid of ``subnets``."""
        grid = self.subnets["time_s"].drop_duplicates().to_numpy()
        end = self.summary["stopped_at_s"] or self.summary["duration_s"]
        return pods_over_time(self.pods, grid, end)

    def write_files(self, folder: Path) -> None:
        """Write every output file into ``folder`` (which exists)."""
        from simulator.charts.run import plot_holders, plot_utilization

        self.subnets.to_csv(folder / "subnets.csv", index=False)
        self.nnc.to_csv(folder / "nnc.csv", index=False)
        self.nodes.to_csv(folder / "nodes.csv", index=False)
        self.pods.to_csv(folder / "pods.csv", index=False)
        self.events.to_csv(folder / "events.csv", index=False)
        self.holders.to_csv(folder / "holders.csv", index=False)
        (folder / "summary.json").write_text(json.dumps(self.summary, indent=2) + "\n")
        if self.replay is not None:
            write_replay_csv(self.replay, folder / "replay.csv")
            (folder / "replay_check.json").write_text(
                json.dumps(self.replay_check, indent=2) + "\n"
            )
        (folder / "scenario.resolved.yaml").write_text(write_document(self.scenario.to_document()))
        plot_utilization(
            self.subnets,
            self.events,
            f"{self.scenario.name}: subnet addresses over time (seed {self.seed})",
            folder / "utilization.png",
            pods=self.pods_over_time(),
            verdict=self.summary,
        )
        plot_holders(
            self.holders,
            f"{self.scenario.name}: who holds each subnet's addresses (seed {self.seed})",
            folder / "holders.png",
        )


def build_result(world: World) -> Result:
    """Turn a finished world's records into frames and a summary."""
    with collector_paused():
        return _build(world)


def _build(world: World) -> Result:
    events = pd.DataFrame(
        world.recorder.events,
        columns=["time_s", "kind", "cluster", "node_pool", "node", "subnet", "message"],
    )
    nnc = nnc_frame(world.recorder.nnc)
    pods = pod_frame(world)
    points = changes(world)
    replay, replay_check = replay_results(world)
    grid = sample_grid_of(world)
    summary = summarize(world, pods, points)
    scenario = world.scenario
    if grid.coarsened:
        # The resolved scenario carries the grid used, so that re-running it (and
        # export-metrics, which samples on it) gives the same rows.
        scenario = scenario.model_copy(update={"sample_every": grid.step})
        summary["notes"].append(grid.note())
    return Result(
        scenario=scenario,
        seed=world.seed,
        summary=summary,
        subnets=subnet_frame(world, points, grid.times),
        nnc=nnc,
        nodes=node_frame(world),
        pods=pods,
        events=events,
        holders=holder_frame(world, grid.times),
        replay=replay,
        replay_check=replay_check,
    )
