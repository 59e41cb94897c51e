"""``ipsim export-metrics``, ``ipsim plot`` and ``ipsim report``: what is made from a
results folder."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["export_metrics", "plot", "report"]

_EXPORT_EXAMPLES = """
\b
Examples:
  ipsim export-metrics results/quickstart
  ipsim export-metrics results/quickstart --format csv --step 60
  promtool tsdb create-blocks-from openmetrics results/quickstart/metrics.om data/
"""


@click.command("export-metrics", epilog=_EXPORT_EXAMPLES)
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
    """Write CNS's cx_ipam_* metrics from a RESULTS folder.

    One sample per node of a mode with a CNS pool and per sample time, from the node's
    first NNC record until it was deleted."""
    from simulator.results.metrics import no_series_reason, parse_start, write_metrics

    target = output or results / ("metrics.csv" if fmt == "csv" else "metrics.om")
    begin = parse_start(start) if start is not None else None
    path, samples = write_metrics(results, target, fmt=fmt, start=begin, step=step, force=force)
    click.echo(f"{samples:,} samples written to {path}")
    if not samples:
        click.echo(f"no series: {no_series_reason(results)}")


@click.group()
def plot() -> None:
    """Draw charts from a results folder."""


_NNC_EXAMPLES = """
\b
Example:
  ipsim plot nnc results/quickstart --node aks-user-09019107-vmss000000
"""


@plot.command("nnc", epilog=_NNC_EXAMPLES)
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--node", required=True, help="node name, as in nodes.csv")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="[default: RESULTS/nnc-NODE.png]"
)
@click.option("--force", is_flag=True, help="replace a file ipsim wrote")
def plot_nnc_command(results: Path, node: str, output: Path | None, force: bool) -> None:
    """One node's requested, allocated and assigned IPs over time."""
    from simulator.results.metrics import results_folder
    from simulator.results.node_chart import default_output, plot_node

    results_folder(results)

    path = plot_node(results, node, output or default_output(results, node), force=force)
    click.echo(f"chart written to {path}")


_REPORT_EXAMPLES = """
\b
Examples:
  ipsim report results/quickstart            # writes results/quickstart/report.html
  ipsim report results/quickstart-plan -o plan.html
  ipsim run scenarios/quickstart.yaml --report
"""


@click.command(epilog=_REPORT_EXAMPLES)
@click.argument("results", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="[default: RESULTS/report.html]"
)
@click.option("--force", is_flag=True, help="replace a file ipsim wrote")
def report(results: Path, output: Path | None, force: bool) -> None:
    """Write RESULTS as one self-contained HTML page."""
    from simulator.results.report import folder_kind, write_report

    kind = folder_kind(results)
    path = write_report(results, output or results / "report.html", force=force)
    click.echo(f"{kind} report written to {path}")
