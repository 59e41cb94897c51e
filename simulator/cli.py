"""The ``ipsim`` command line: run, validate, schema, export-metrics, plot.

Every user-facing error becomes one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import math
import signal
import sys
from pathlib import Path
from typing import Any

import click

from .errors import IpsimError, Terminated, raise_terminated
from .loader import load_scenario
from .results import check_target
from .runner import run as run_scenario
from .scenario import Scenario

__all__ = ["main"]


class _Group(click.Group):
    """Turns the project's errors into one line and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IpsimError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            # Results are staged in a temporary folder that is removed on the way out.
            click.echo("interrupted: no results were written", err=True)
            sys.exit(130)
        except Terminated:
            click.echo("terminated: no results were written", err=True)
            sys.exit(143)


# --- many runs -------------------------------------------------------------------------


def _executor_options(func):
    func = click.option(
        "-j",
        "--jobs",
        type=click.IntRange(1, 512),
        help="local worker processes [default: all cores]",
    )(func)
    func = click.option(
        "--dask", metavar="ADDRESS", help="run on a Dask cluster (tcp://host:8786)"
    )(func)
    return func


def _with_progress(total: int | None, desc: str, work):
    from tqdm import tqdm

    with tqdm(
        total=total,
        desc=desc,
        unit="run",
        disable=not sys.stderr.isatty(),
        leave=False,
        file=sys.stderr,
    ) as bar:
        return work(bar.update)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ipsim", prog_name="ipsim")
def cli() -> None:
    """Simulate Kubernetes pod IP allocation on Azure CNI (traditional and dynamic)."""


@cli.command()
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
@click.option("--force", is_flag=True, help="replace a results folder ipsim wrote")
@_executor_options
def run(
    scenario: Path,
    output: Path | None,
    seed: int | None,
    replicas: int,
    force: bool,
    jobs: int | None,
    dask: str | None,
) -> None:
    """Simulate SCENARIO and write its results folder."""
    spec = load_scenario(scenario)
    target = output or Path("results") / spec.name
    check_target(target, force=force, protect=_inputs(scenario))  # before the run
    if replicas > 1:
        from .batch import make_executor
        from .replicas import run_replicas

        with make_executor(jobs, dask) as executor:
            batch = _with_progress(
                replicas,
                spec.name,
                lambda tick: run_replicas(
                    scenario, replicas, seed=seed, executor=executor, progress=tick
                ),
            )
        saved = batch.save(target, force=force)
        click.echo(_spread_table(batch.spread()))
        click.echo(f"{replicas} replicas written to {saved}/")
        return
    result = _run_with_progress(spec, seed)
    saved = result.save(target, force=force)
    click.echo(_summary_table(result.summary))
    click.echo(f"results written to {saved}/")


def _spread_table(spread: dict[str, dict[str, float]]) -> str:
    lines = [f"{'figure':<40}{'median':>10}{'p5':>10}{'p95':>10}"]
    for key, values in spread.items():
        if key.endswith((".peak_allocated", ".peak_assigned")) or key.startswith("pods."):
            lines.append(f"{key:<40}{values['median']:>10g}{values['p5']:>10g}{values['p95']:>10g}")
    return "\n".join(lines)


def _run_with_progress(spec: Scenario, seed: int | None):
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


@cli.command()
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


@cli.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors)."""
    document = Scenario.model_json_schema(mode="validation")
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "ipsim scenario (format version 1)"
    click.echo(json.dumps(document, indent=2))


@cli.command("export-metrics")
@click.argument("results", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["openmetrics", "csv"]),
    default="openmetrics",
    show_default=True,
    help="OpenMetrics text (for Prometheus backfill) or one CSV column per metric",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="file to write [default: RESULTS/metrics.om or RESULTS/metrics.csv]",
)
@click.option(
    "--start",
    default=None,
    metavar="ISO8601",
    help="wall-clock time of simulated second 0 [default: 2025-01-01T00:00:00Z]",
)
@click.option("--step", type=float, help="sample interval in seconds [default: the run's]")
@click.option("--force", is_flag=True, help="replace a file ipsim wrote")
def export_metrics(
    results: Path,
    fmt: str,
    output: Path | None,
    start: str | None,
    step: float | None,
    force: bool,
) -> None:
    """Write CNS's metrics (cx_ipam_*) per node and sample time from a RESULTS folder."""
    from .metrics import parse_start, write_metrics

    target = output or results / ("metrics.csv" if fmt == "csv" else "metrics.om")
    begin = parse_start(start) if start is not None else None
    path, samples = write_metrics(results, target, fmt=fmt, start=begin, step=step, force=force)
    click.echo(f"{samples:,} samples written to {path}")


@cli.group()
def plot() -> None:
    """Draw charts from a results folder."""


@plot.command("nnc")
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--node", required=True, help="node name, as in nodes.csv")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="[default: RESULTS/nnc-NODE.png]"
)
@click.option("--force", is_flag=True, help="replace a file ipsim wrote")
def plot_nnc_command(results: Path, node: str, output: Path | None, force: bool) -> None:
    """One node's requested, allocated and assigned IPs over time."""
    from .plots import default_output, plot_node

    path = plot_node(results, node, output or default_output(results, node), force=force)
    click.echo(f"chart written to {path}")


def _cnis(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def _inputs(scenario: Path) -> list[tuple[str, Path]]:
    """What a results folder must not hold, for ``--force`` to replace it."""
    return [("the scenario file", scenario)]


def _output(output: Path | None, name: str, suffix: str, force: bool, scenario: Path) -> Path:
    target = output or Path("results") / f"{name}-{suffix}"
    check_target(target, force=force, protect=_inputs(scenario))
    return target


def _run_variants(work, kind, scenario, cni, sets, replicas, seed, output, force, jobs, dask):
    """Shared by compare and sweep: every variant × replica on the chosen executor, with
    a progress bar; returns the result and the folder it was saved to."""
    from .batch import make_executor
    from .variants import parse_settings, variants

    settings = parse_settings(sets)
    spec = load_scenario(scenario)
    target = _output(output, spec.name, kind, force, scenario)
    cnis = _cnis(cni)
    count = len(variants(cnis, settings)) * replicas
    with make_executor(jobs, dask) as executor:
        result = _with_progress(
            count,
            kind,
            lambda tick: work(
                scenario,
                settings=settings,
                cnis=cnis,
                replicas=replicas,
                seed=seed,
                executor=executor,
                progress=tick,
            ),
        )
    return result, result.save(target, force=force)


@cli.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--cni", "cni", metavar="MODES", help="comma-separated: traditional,dynamic")
@click.option("--set", "sets", multiple=True, metavar="KEY=V1,V2", help="vary a scenario key")
@click.option("--replicas", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="override the scenario's seed")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="[default: results/NAME-compare]"
)
@click.option("--force", is_flag=True, help="replace a results folder ipsim wrote")
@_executor_options
def compare(scenario, cni, sets, replicas, seed, output, force, jobs, dask) -> None:
    """Run SCENARIO once per variant (same seeds) and compare address use."""
    from .compare import compare as run_compare

    result, saved = _run_variants(
        run_compare, "compare", scenario, cni, sets, replicas, seed, output, force, jobs, dask
    )
    shown = result.table[
        [
            "variant",
            "subnet",
            "peak_allocated",
            "mean_allocated",
            "peak_assigned",
            "ips_per_pod",
            "nodes_failed",
            "pods_waited",
            "p95_wait_s",
        ]
    ]
    click.echo(shown.to_string(index=False))
    click.echo(f"results written to {saved}/")


@cli.command()
@click.option(
    "--cni", "mode", type=click.Choice(["traditional", "dynamic", "static-block"]), required=True
)
@click.option("--nodes", type=click.IntRange(1, 5000), required=True)
@click.option("--max-pods", type=click.IntRange(10, 250), required=True)
@click.option("--surge", type=click.IntRange(0, 5000), default=0, show_default=True)
@click.option("--pods-per-node", type=click.IntRange(0, 250), help="dynamic: pods each node runs")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def calc(mode, nodes, max_pods, surge, pods_per_node, as_json) -> None:
    """Addresses each subnet needs, from the documented formulas."""
    from .capacity import calculate

    needs = calculate(mode, nodes, max_pods, surge=surge, pods_per_node=pods_per_node)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "mode": mode,
                    "nodes": nodes,
                    "surge": surge,
                    "max_pods": max_pods,
                    "pods_per_node": pods_per_node,
                    "subnets": [n.as_dict() for n in needs],
                },
                indent=2,
            )
        )
        return
    for need in needs:
        where = f"/{need.prefix} ({need.usable:,} usable)" if need.prefix else "more than a /8"
        click.echo(f"{need.subnet} subnet: {need.addresses:,} addresses -> {where}; {need.note}")


@cli.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--subnet", "subnets", multiple=True, help="subnet to size [default: every used one]")
@click.option("--replicas", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option(
    "--max-ip-wait",
    type=float,
    default=0.0,
    show_default=True,
    help="seconds a pod may wait for an address beyond the normal round trip",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="override the scenario's seed")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="[default: results/NAME-plan]"
)
@click.option("--force", is_flag=True, help="replace a results folder ipsim wrote")
@_executor_options
def plan(scenario, subnets, replicas, max_ip_wait, seed, output, force, jobs, dask) -> None:
    """Find the smallest prefix of each subnet under which SCENARIO still runs."""
    from .batch import make_executor
    from .plan import plan as run_plan

    if not math.isfinite(max_ip_wait):
        raise IpsimError(f"--max-ip-wait: must be finite (got {max_ip_wait:g})")
    if max_ip_wait < 0:
        raise IpsimError(f"--max-ip-wait: must not be negative (got {max_ip_wait:g})")
    spec = load_scenario(scenario)
    target = _output(output, spec.name, "plan", force, scenario)
    with make_executor(jobs, dask) as executor:
        # The bisection decides how many runs it needs: the bar counts them, no total.
        result = _with_progress(
            None,
            "plan",
            lambda tick: run_plan(
                scenario,
                subnets=list(subnets) or None,
                replicas=replicas,
                seed=seed,
                max_ip_wait=max_ip_wait,
                executor=executor,
                progress=tick,
            ),
        )
    saved = result.save(target, force=force)
    for answer in result.subnets:
        click.echo(answer.sentence())
    click.echo(f"{result.runs} runs; results written to {saved}/")


@cli.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--set", "sets", multiple=True, required=True, metavar="KEY=V1,V2")
@click.option("--cni", "cni", metavar="MODES", help="also vary the CNI: traditional,dynamic")
@click.option("--replicas", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="override the scenario's seed")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="[default: results/NAME-sweep]"
)
@click.option("--force", is_flag=True, help="replace a results folder ipsim wrote")
@_executor_options
def sweep(scenario, sets, cni, replicas, seed, output, force, jobs, dask) -> None:
    """Run SCENARIO for every combination of --set values × replicas."""
    from .sweep import sweep as run_sweep

    result, saved = _run_variants(
        run_sweep, "sweep", scenario, cni, sets, replicas, seed, output, force, jobs, dask
    )
    failed = int(result.table["error"].notna().sum())
    click.echo(f"{len(result.table)} runs, {failed} failed; results written to {saved}/")


@cli.group()
def chart() -> None:
    """Charts computed from formulas."""


@chart.command("capacity")
@click.option("--max-pods", type=click.IntRange(10, 250), required=True)
@click.option("--pods-per-node", type=click.IntRange(1, 250), required=True)
@click.option("--prefix-range", default="28-16", show_default=True, metavar="LONG-SHORT")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="[default: results/capacity]")
@click.option("--force", is_flag=True, help="replace a results folder ipsim wrote")
def chart_capacity(max_pods, pods_per_node, prefix_range, output, force) -> None:
    """Largest node and pod count each prefix holds, per mode."""
    from .capacity_table import capacity_table, save_capacity

    try:
        longest, shortest = (int(x) for x in prefix_range.split("-"))
    except ValueError:
        raise IpsimError(
            f"--prefix-range: expected LONG-SHORT such as 28-16 (got {prefix_range!r})"
        ) from None
    if not (8 <= shortest <= longest <= 29):
        raise IpsimError(
            f"--prefix-range: prefixes must satisfy 8 <= SHORT <= LONG <= 29 (got {prefix_range})"
        )
    target = output or Path("results") / "capacity"
    check_target(target, force=force)
    table = capacity_table(max_pods, pods_per_node, range(longest, shortest - 1, -1))
    saved = save_capacity(table, max_pods, pods_per_node, target, force=force)
    click.echo(table.to_string(index=False))
    click.echo(f"results written to {saved}/")


def main() -> None:
    """Run the ``ipsim`` command (see :func:`simulator.__main__.main`, its entry point)."""
    signal.signal(signal.SIGTERM, raise_terminated)
    cli(prog_name="ipsim")
