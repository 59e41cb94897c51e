"""The ``ipsim`` command line: run, validate, schema, export-metrics, plot.

Every user-facing error becomes one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .errors import IpsimError
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
@click.option("--force", is_flag=True, help="replace an existing results folder")
def run(scenario: Path, output: Path | None, seed: int | None, force: bool) -> None:
    """Simulate SCENARIO and write its results folder."""
    spec = load_scenario(scenario)
    target = output or Path("results") / spec.name
    check_target(target, force=force)  # before the run, not after it
    result = _run_with_progress(spec, seed)
    saved = result.save(target, force=force)
    click.echo(_summary_table(result.summary))
    click.echo(f"results written to {saved}/")


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
@click.option("--force", is_flag=True, help="replace an existing file")
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
@click.option("--force", is_flag=True, help="replace an existing file")
def plot_nnc_command(results: Path, node: str, output: Path | None, force: bool) -> None:
    """One node's requested, allocated and assigned IPs over time."""
    from .plots import plot_node

    path = plot_node(results, node, output or results / f"nnc-{node}.png", force=force)
    click.echo(f"chart written to {path}")


def main() -> None:
    """Entry point of the ``ipsim`` console script."""
    cli(prog_name="ipsim")
