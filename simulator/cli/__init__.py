"""The ``ipsim`` command line: one module per group of commands.

Every user-facing error becomes one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import signal

import click

from simulator.cli.common import IpsimGroup
from simulator.cli.imports import calibrate, import_command
from simulator.cli.outputs import export_metrics, plot, report
from simulator.cli.planning import calc, chart, compare, plan, sweep
from simulator.cli.run import run, schema, validate
from simulator.cli.traces import trace
from simulator.errors import raise_terminated

__all__ = ["cli", "main"]


@click.group(cls=IpsimGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ipsim", prog_name="ipsim")
def cli() -> None:
    """Simulate Kubernetes pod IP allocation on Azure CNI (traditional and dynamic)."""


for command in (
    run,
    validate,
    schema,
    report,
    export_metrics,
    plot,
    compare,
    calc,
    plan,
    sweep,
    chart,
    trace,
    import_command,
    calibrate,
):
    cli.add_command(command)


def main() -> None:
    """Run the ``ipsim`` command (see :func:`simulator.__main__.main`, its entry point)."""
    signal.signal(signal.SIGTERM, raise_terminated)
    cli(prog_name="ipsim")
