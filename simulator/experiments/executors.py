"""Executors: where many runs run. Local worker processes by default (``-j``), a Dask
cluster with an address (``--dask``); ``compare``, ``plan``, ``sweep`` and replicas
share them. Outcomes come back in the order of the specs."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from simulator.errors import IpsimError
from simulator.experiments.runs import Outcome, RunSpec, run_spec

__all__ = ["DaskExecutor", "Executor", "LocalExecutor", "Progress", "make_executor", "run_all"]

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


def run_all(
    specs: Sequence[RunSpec], executor: Executor | None, progress: Progress | None = None
) -> list[Outcome]:
    """Run ``specs`` on ``executor`` (default: one after another in this process)."""
    return (executor or LocalExecutor(1)).map(specs, progress)
