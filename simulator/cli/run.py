"""``ipsim run``, ``ipsim validate`` and ``ipsim schema``: one scenario, its checks, its format."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from simulator.cli.common import executor_options, with_progress
from simulator.errors import IpsimError
from simulator.results.folders import check_target
from simulator.runner import run as run_scenario
from simulator.scenario.loader import load_scenario
from simulator.scenario.models import Scenario

__all__ = ["run", "schema", "validate"]


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="results folder [default: results/<scenario name>]",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="override the scenario's seed")
@click.option(
    "--replicas",
    type=click.IntRange(1, 10_000),
    default=1,
    show_default=True,
    help="independent seeds spawned from the seed; charts show the spread",
)
@click.option("--force", is_flag=True, help="replace an existing results folder")
@click.option(
    "--strict", is_flag=True, help="exit 1 when a trace replay's check fails (replay_check.json)"
)
@executor_options
def run(
    scenario: Path,
    output: Path | None,
    seed: int | None,
    replicas: int,
    force: bool,
    strict: bool,
    jobs: int | None,
    dask: str | None,
) -> None:
    """Simulate SCENARIO and write its results folder."""
    if strict and replicas > 1:
        raise IpsimError("--strict checks one run's replay: give it without --replicas")
    spec = load_scenario(scenario)
    target = output or Path("results") / spec.name
    check_target(target, force=force)  # before the run, not after it
    if replicas > 1:
        from simulator.experiments.executors import make_executor
        from simulator.experiments.replicas import run_replicas

        executor = make_executor(jobs, dask)
        try:
            batch = with_progress(
                replicas,
                spec.name,
                lambda tick: run_replicas(
                    scenario, replicas, seed=seed, executor=executor, progress=tick
                ),
            )
        finally:
            executor.close()
        saved = batch.save(target, force=force)
        click.echo(_spread_table(batch.spread()))
        click.echo(f"{replicas} replicas written to {saved}/")
        return
    result = _runwith_progress(spec, seed)
    saved = result.save(target, force=force)
    click.echo(_summary_table(result.summary))
    if result.replay_check is not None:
        click.echo(_replay_lines(result.replay_check))
    click.echo(f"results written to {saved}/")
    if strict and result.replay_check is not None and not result.replay_check["passed"]:
        for failure in result.replay_check["failures"]:
            click.echo(f"replay check failed: {failure}", err=True)
        sys.exit(1)


def _replay_lines(check: dict[str, Any]) -> str:
    """One line per trace workload: pods, the alive comparison, the lag, the verdict."""
    lines = []
    for name, c in check["workloads"].items():
        pods, alive, lag = c["pods"], c["alive"], c["lag_s"]
        p95 = "-" if lag["p95"] is None else f"{lag['p95']:g}s"
        verdict = "passed" if c["passed"] else "FAILED: " + "; ".join(c["failures"])
        lines.append(
            f"replay {name}: {pods['read']:,} pods read, {pods['replayed']:,} replayed, "
            f"{pods['dropped']:,} dropped; alive max diff {alive['max_abs_diff']}, equal at "
            f"{alive['share_equal']:.1%} of {alive['change_points']:,} change points; "
            f"lag p95 {p95}; {verdict}"
        )
        lines.extend(f"warning: {w}" for w in c["warnings"])
    return "\n".join(lines)


def _spread_table(spread: dict[str, dict[str, float]]) -> str:
    lines = [f"{'figure':<40}{'median':>10}{'p5':>10}{'p95':>10}"]
    for key, values in spread.items():
        if key.endswith((".peak_allocated", ".peak_assigned")) or key.startswith("pods."):
            lines.append(f"{key:<40}{values['median']:>10g}{values['p5']:>10g}{values['p95']:>10g}")
    return "\n".join(lines)


def _runwith_progress(spec: Scenario, seed: int | None):
    from tqdm import tqdm

    bar = tqdm(
        total=round(spec.duration),
        unit="sim-s",
        desc=spec.name,
        disable=not sys.stderr.isatty(),
        leave=False,
        file=sys.stderr,
    )
    with bar:

        def advance(now: float) -> None:
            bar.update(round(now) - bar.n)

        return run_scenario(spec, seed, progress=advance)


def _summary_table(summary: dict[str, Any]) -> str:
    def when(value: float | None) -> str:
        return "-" if value is None else f"{value:g}s"

    head = (
        f"{'subnet':<16}{'cidr':<18}{'usable':>8}{'peak alloc':>12}{'peak used':>11}"
        f"{'min free':>10}{'first full':>12}"
    )
    lines = [f"{summary['scenario']} (seed {summary['seed']}, {summary['duration_s']:g}s)", head]
    for name, s in summary["subnets"].items():
        lines.append(
            f"{name:<16}{s['cidr']:<18}{s['capacity']:>8}{s['peak_allocated']:>12}"
            f"{s['peak_assigned']:>11}{s['min_free']:>10}{when(s['full_at_s']):>12}"
        )
    n, p = summary["nodes"], summary["pods"]
    wait = p["ip_wait_s"]
    lines.append(
        f"nodes: {n['created']} created, {n['ready']} ready, {n['failed']} failed, "
        f"{n['stuck']} stuck"
    )
    lines.append(
        f"pods: {p['created']} created, {p['running_at_end']} running, "
        f"{p['pending_at_end']} pending, {p['waiting_for_ip_at_end']} waiting for an IP; "
        f"IP wait p50 {when(wait['p50'])}, p95 {when(wait['p95'])}, max {when(wait['max'])}"
    )
    return "\n".join(lines)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check scenario FILES; print one line per file."""
    failed = False
    for file in files:
        try:
            spec = load_scenario(file)
        except IpsimError as exc:
            click.echo(f"error: {exc}", err=True)
            failed = True
        else:
            click.echo(f"{file}: ok ({spec.name})")
    if failed:
        sys.exit(2)


@click.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors)."""
    document = Scenario.model_json_schema(mode="validation")
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "ipsim scenario (format version 1)"
    click.echo(json.dumps(document, indent=2))
