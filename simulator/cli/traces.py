"""``ipsim trace inspect`` and ``ipsim trace convert``: a look at a pod trace before
replaying it, and any supported format written as the generic pod table."""

from __future__ import annotations

import json
from pathlib import Path

import click

from simulator.scenario.traces import FORMATS

__all__ = ["trace"]

_FORMATS = click.Choice(list(FORMATS))


def _read(file: Path, fmt: str | None, drop_bad: bool):
    from simulator.scenario.traces import detect_format, read

    name = fmt or detect_format(file)
    return name, read(file, name, drop_bad=drop_bad)


@click.group(short_help="Inspect pod traces or convert them to pod tables.")
def trace() -> None:
    """Look at pod traces and convert them to the generic pod table."""


_INSPECT_EXAMPLES = """
\b
Examples:
  ipsim trace inspect openb_pod_list_default.csv --format alibaba-openb
  ipsim trace inspect trace.json --json            # SimKube, recognised by its content
"""

_CONVERT_EXAMPLES = """
\b
Examples:
  ipsim trace convert trace.json -o pods.csv
  ipsim trace convert disaggregated_DLRM_trace.csv --format alibaba-dlrm -o dlrm.parquet
"""


@trace.command("inspect", epilog=_INSPECT_EXAMPLES)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=_FORMATS, help="the trace's format [default: recognised]")
@click.option(
    "--drop-bad-rows", is_flag=True, help="skip malformed rows (counted) instead of stopping"
)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def inspect_command(file: Path, fmt: str | None, drop_bad_rows: bool, as_json: bool) -> None:
    """Pods, time span, peak alive and when, peak requests, nodes, a window to replay."""
    from simulator.scenario.traces.inspect import describe, inspect

    name, table = _read(file, fmt, drop_bad_rows)
    figures = inspect(table)
    if as_json:
        click.echo(json.dumps({"format": name, **figures}, indent=2))
        return
    click.echo(describe(figures, name))


@trace.command("convert", epilog=_CONVERT_EXAMPLES)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=_FORMATS, help="the trace's format [default: recognised]")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="the generic pod table to write: .csv (pod-csv) or .parquet (pod-parquet)",
)
@click.option(
    "--drop-bad-rows", is_flag=True, help="skip malformed rows (counted) instead of stopping"
)
@click.option("--force", is_flag=True, help="replace a Parquet table ipsim wrote")
def convert_command(
    file: Path, fmt: str | None, output: Path, drop_bad_rows: bool, force: bool
) -> None:
    """Write FILE (any supported format) as the generic pod table."""
    from simulator.errors import IpsimError
    from simulator.results.folders import write_file
    from simulator.scenario.traces.podtable import write_table, written_by_ipsim

    suffix = output.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise IpsimError(f"{output}: the output is .csv (pod-csv) or .parquet (pod-parquet)")
    name, table = _read(file, fmt, drop_bad_rows)
    saved = write_file(
        output,
        lambda path: write_table(table, path, parquet=suffix == ".parquet"),
        force=force,
        ours=lambda _head: written_by_ipsim(output),
    )
    dropped = sum(table.dropped.values())
    note = f" ({dropped:,} rows not read: see trace inspect)" if dropped else ""
    click.echo(f"{len(table):,} pods of {file.name} ({name}) written to {saved}{note}")
