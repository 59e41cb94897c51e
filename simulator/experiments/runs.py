"""Many runs at once: run specifications, replica seeds and the executors that run them.

A :class:`RunSpec` is plain data (a scenario document, the folder its files are relative
to, a seed), so it travels to worker processes or to a Dask cluster. :func:`run_spec`
never raises: a run that fails comes back as an outcome carrying its error, so one bad
combination does not sink a sweep. ``compare``, ``plan`` and ``sweep`` share the
executors: local processes by default, Dask's ``distributed`` with an address.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import IpsimError

__all__ = [
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "Outcome",
    "RunSpec",
    "make_executor",
    "replica_seeds",
    "run_spec",
]


def replica_seeds(seed: int, replicas: int) -> list[int]:
    """``replicas`` independent seeds spawned from ``seed`` (numpy ``SeedSequence``)."""
    children = np.random.SeedSequence(seed).spawn(replicas)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> 1) for child in children]


@dataclass(frozen=True)
class RunSpec:
    """One run: the scenario document, its folder, the seed and labels for the tables."""

    document: dict[str, Any]
    seed: int
    base: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    replica: int = 0
    keep_frames: bool = False  # send the subnets and pods frames back too
    keep_result: bool = False  # send the whole Result back


@dataclass
class Outcome:
    """What came back from one run."""

    params: dict[str, Any]
    replica: int
    seed: int
    summary: dict[str, Any] | None = None
    subnets: pd.DataFrame | None = None
    pods: pd.DataFrame | None = None
    result: Any = None
    error: str | None = None


def run_spec(spec: RunSpec) -> Outcome:
    """Load and run one spec; errors become the outcome's ``error``."""
    from simulator.runner import run
    from simulator.scenario.loader import load_scenario

    outcome = Outcome(dict(spec.params), spec.replica, spec.seed)
    if "__invalid__" in spec.document:  # a --set that did not fit this combination
        outcome.error = str(spec.document["__invalid__"])
        return outcome
    try:
        scenario = load_scenario(spec.document, base=spec.base)
        result = run(scenario, spec.seed)
    except IpsimError as exc:
        outcome.error = str(exc)
        return outcome
    except Exception as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
        return outcome
    outcome.summary = result.summary
    if spec.keep_result:
        outcome.result = result
    if spec.keep_frames:
        outcome.subnets = result.subnets
        outcome.pods = result.pods[["pod", "created_s", "scheduled_s", "ip_wait_s", "state"]]
    return outcome


Progress = Callable[[int], None]


class Executor:
    """Runs specs and returns outcomes in the order given."""

    def map(self, specs: Sequence[RunSpec], progress: Progress | None = None) -> list[Outcome]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers."""


class LocalExecutor(Executor):
    """Local worker processes (``-j``); one job runs in this process."""

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def map(self, specs: Sequence[RunSpec], progress: Progress | None = None) -> list[Outcome]:
        if self.jobs == 1 or len(specs) <= 1:
            out = []
            for spec in specs:
                out.append(run_spec(spec))
                if progress:
                    progress(1)
            return out
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs)
        futures = [self._pool.submit(run_spec, spec) for spec in specs]
        results: list[Outcome] = []
        for future in futures:
            results.append(future.result())
            if progress:
                progress(1)
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class DaskExecutor(Executor):
    """A Dask cluster (``--dask tcp://host:8786``); needs the ``distributed`` package."""

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise IpsimError(
                "--dask needs the 'distributed' package: pip install 'ipsim[dask]'"
            ) from None
        try:
            self.client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise IpsimError(f"--dask {address}: cannot connect ({exc})") from None

    def map(self, specs: Sequence[RunSpec], progress: Progress | None = None) -> list[Outcome]:
        from distributed import as_completed

        futures = self.client.map(run_spec, list(specs), pure=False)
        if progress:
            for _ in as_completed(futures):
                progress(1)
        return self.client.gather(futures)

    def close(self) -> None:
        self.client.close()


def make_executor(jobs: int | None = None, dask: str | None = None) -> Executor:
    """Dask when an address is given, local processes otherwise."""
    return DaskExecutor(dask) if dask else LocalExecutor(jobs)
