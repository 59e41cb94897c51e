"""``ipsim run``, ``ipsim validate`` and ``ipsim schema``: one scenario, its checks, its format."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from simulator.cli.common import executor, executor_options, inputs, with_progress
from simulator.errors import IpsimError, ScenarioError
from simulator.results.folders import check_target
from simulator.runner import run as run_scenario
from simulator.scenario.checks import with_checks
from simulator.scenario.loader import load_scenario, read_document
from simulator.scenario.models import Scenario

__all__ = ["checks_option", "load_with_checks", "parse_checks", "run", "schema", "validate"]


_RUN_EXAMPLES = """
\b
Examples:
  ipsim run scenarios/quickstart.yaml
  ipsim run scenarios/*.yaml --check            # exit 1 if any scenario fails
  ipsim run s.yaml --checks max_ip_wait=2m --report
  ipsim run s.yaml --replicas 20 -j 4           # 20 seeds, the spread of each figure
"""


def checks_option(func):
    """``--checks KEY=VALUE``: set one of the scenario's ``checks:`` (repeatable)."""
    return click.option(
        "--checks",
        "checks",
        multiple=True,
        metavar="KEY=VALUE",
        help="set a pass/fail criterion of the scenario's checks: (repeatable), "
        "e.g. max_ip_wait=2m or max_nodes_failed=null",
    )(func)


def parse_checks(options: tuple[str, ...]) -> dict[str, Any]:
    """``--checks KEY=VALUE`` options as a mapping; values read as YAML scalars."""
    out: dict[str, Any] = {}
    for option in options:
        key, sep, raw = option.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise IpsimError(f"--checks {option!r}: expected KEY=VALUE, e.g. max_ip_wait=2m")
        try:
            out[key.strip()] = yaml.safe_load(raw.strip())
        except yaml.YAMLError:
            raise IpsimError(f"--checks {key.strip()}: cannot read value {raw.strip()!r}") from None
    return out


def load_with_checks(path: Path, checks: dict[str, Any]) -> Scenario:
    """The scenario at ``path`` with the command line's ``--checks`` applied."""
    if not checks:
        return load_scenario(path)
    try:
        document = with_checks(read_document(path), checks)
        return load_scenario(document, base=path.resolve().parent)
    except ScenarioError as exc:
        raise exc.with_source(str(path)) if exc.source is None else exc from None


@click.command(epilog=_RUN_EXAMPLES)
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="results folder [default: results/<scenario name>]; with several scenarios, "
    "the folder their results go in",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="override the scenario's seed")
@click.option(
    "--replicas",
    type=click.IntRange(1, 10_000),
    default=1,
    show_default=True,
    help="independent seeds spawned from the seed; charts show the spread",
)
@click.option("--check", is_flag=True, help="exit with status 1 when a run's verdict is FAIL")
@checks_option
@click.option("--report", is_flag=True, help="also write report.html into the results folder")
@click.option("--force", is_flag=True, help="replace a results folder ipsim wrote")
@click.option(
    "--strict", is_flag=True, help="exit 1 when a trace replay's check fails (replay_check.json)"
)
@executor_options
def run(
    scenarios: tuple[Path, ...],
    output: Path | None,
    seed: int | None,
    replicas: int,
    check: bool,
    checks: tuple[str, ...],
    report: bool,
    force: bool,
    strict: bool,
    jobs: int | None,
    dask: str | None,
) -> None:
    """Simulate each SCENARIO; write results, print a verdict.

    The verdict is PASS or FAIL against the scenario's checks: no pod waited too long
    for an address, no node failed to get addresses, no pod left waiting or pending
    for want of addresses, no operation refused (see --checks)."""
    if strict and replicas > 1:
        raise IpsimError("--strict checks one run's replay: give it without --replicas")
    overrides = parse_checks(checks)
    # Every scenario is read and every folder checked before the first run.
    specs = [load_with_checks(path, overrides) for path in scenarios]
    targets = _targets(specs, output)
    for target in targets:
        check_target(target, force=force, protect=inputs(*scenarios))
    failed = replays_failed = 0
    for path, spec, target in zip(scenarios, specs, targets, strict=True):
        if len(specs) > 1:
            click.echo(f"== {path}")
        if replicas > 1:
            failed += _run_replicas(
                path, spec, overrides, replicas, seed, target, force, report, jobs, dask
            )
            continue
        result = _runwith_progress(spec, seed)
        saved = result.save(target, force=force, report=report)
        click.echo(_summary_table(result.summary))
        if result.replay_check is not None:
            click.echo(_replay_lines(result.replay_check))
        click.echo(verdict_text(result.summary))
        click.echo(f"results written to {saved}/")
        failed += result.summary["verdict"] == "FAIL"
        if strict and result.replay_check is not None and not result.replay_check["passed"]:
            for failure in result.replay_check["failures"]:
                click.echo(f"replay check failed: {failure}", err=True)
            replays_failed += 1
    if (check and failed) or replays_failed:
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


def _targets(specs: list[Scenario], output: Path | None) -> list[Path]:
    if len(specs) == 1:
        return [output or Path("results") / specs[0].name]
    names = [spec.name for spec in specs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise IpsimError(
            f"several scenarios are named {twice[0]!r}: their results would share a folder; "
            "run them one at a time with -o"
        )
    return [(output or Path("results")) / name for name in names]


def _run_replicas(path, spec, overrides, replicas, seed, target, force, report, jobs, dask) -> int:
    """Run ``replicas`` seeds of one scenario; returns how many replicas failed."""
    from simulator.experiments.replicas import run_replicas

    with executor(jobs, dask) as runner:
        batch = with_progress(
            replicas,
            spec.name,
            lambda tick: run_replicas(
                path, replicas, seed=seed, checks=overrides, executor=runner, progress=tick
            ),
        )
    saved = batch.save(target, force=force, report=report)
    click.echo(_spread_table(batch.spread()))
    verdicts = batch.verdicts()
    failing = [str(i) for i, v in enumerate(verdicts) if v == "FAIL"]
    if failing:
        click.echo(
            f"verdict: FAIL: {len(failing)} of {len(verdicts)} replicas fail "
            f"(replicas {', '.join(failing)}; their reasons are in replica-NNN/summary.json)"
        )
    else:
        click.echo(f"verdict: PASS: all {len(verdicts)} replicas pass")
    click.echo(f"{replicas} replicas written to {saved}/")
    return len(failing)


def verdict_text(summary: dict[str, Any]) -> str:
    """``verdict: PASS`` or ``verdict: FAIL`` and one line per reason (or per check held)."""
    from simulator.results.verdict import passed_criteria

    lines = [f"verdict: {summary['verdict']}"]
    reasons = summary["reasons"] or passed_criteria(summary["checks"])
    lines += [f"  - {reason}" for reason in reasons]
    if summary.get("stopped_at_s") is not None:
        lines.append(f"  (stopped at {summary['stopped_at_s']:,.0f} s, when it first failed)")
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
    for name, s in summary.get("pod_cidrs", {}).items():  # not VNet addresses
        free = s["capacity"] - s["peak_allocated"]
        lines.append(
            f"{name:<16}{s['cidr']:<18}{s['capacity']:>8}{s['peak_allocated']:>12}"
            f"{s['peak_assigned']:>11}{free:>10}{when(s['full_at_s']):>12}"
        )
    vnet = summary["vnet_addresses"]
    lines.append(f"VNet addresses held: peak {vnet['peak']}, final {vnet['final']} (all subnets)")
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
    lines += [f"note: {note}" for note in summary.get("notes", [])]
    return "\n".join(lines)


@click.command(
    epilog="""
\b
Example:
  ipsim validate scenarios/*.yaml
"""
)
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


@click.command(
    epilog="""
\b
Example:
  ipsim schema > ipsim-scenario.schema.json
"""
)
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors)."""
    document = Scenario.model_json_schema(mode="validation")
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "ipsim scenario (format version 1)"
    click.echo(json.dumps(document, indent=2))
