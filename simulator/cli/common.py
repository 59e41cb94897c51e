"""What the commands share: the group that turns errors into one line, executor
options, progress bars and output-folder checks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from simulator.errors import IpsimError, Terminated
from simulator.results.folders import check_target

__all__ = [
    "IpsimGroup",
    "cnis_option",
    "executor",
    "executor_options",
    "inputs",
    "output_folder",
    "progress_bar",
    "with_progress",
]


class IpsimGroup(click.Group):
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


def executor_options(func):
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


@contextmanager
def executor(jobs: int | None, dask: str | None) -> Iterator[Any]:
    """The executor of ``-j`` / ``--dask``: closed on the way out, its running runs ended
    when the block raised (Ctrl-C, SIGTERM)."""
    from simulator.experiments.executors import make_executor

    with make_executor(jobs, dask) as runner:
        yield runner


@contextmanager
def progress_bar(total: int | None, desc: str, unit: str = "run") -> Iterator[Any]:
    """A tqdm bar on stderr, shown only when stderr is a terminal."""
    from tqdm import tqdm

    with tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not sys.stderr.isatty(),
        leave=False,
        file=sys.stderr,
    ) as bar:
        yield bar


def with_progress(total: int | None, desc: str, work):
    with progress_bar(total, desc) as bar:
        return work(bar.update)


def cnis_option(text: str | None) -> list[str] | None:
    """``--cni traditional,dynamic`` as a list of mode names."""
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def inputs(*scenarios: Path) -> list[tuple[str, Path]]:
    """What a results folder must not hold for ``--force`` to replace it: the scenarios."""
    return [("the scenario file", scenario) for scenario in scenarios]


def output_folder(output: Path | None, name: str, suffix: str, force: bool, scenario: Path) -> Path:
    """The results folder of a many-run command, checked before any run starts."""
    target = output or Path("results") / f"{name}-{suffix}"
    check_target(target, force=force, protect=inputs(scenario))
    return target
