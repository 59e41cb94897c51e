"""Executors: where many runs run. Local worker processes by default (``-j``), a Dask
cluster with an address (``--dask``); ``compare``, ``plan``, ``sweep`` and replicas
share them. Outcomes come back in the order of the specs."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from simulator.errors import IpsimError
from simulator.experiments.runs import Outcome, RunSpec, run_spec

__all__ = [
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "Progress",
    "RunsInterrupted",
    "make_executor",
    "run_all",
]

Progress = Callable[[int], None]


class RunsInterrupted(KeyboardInterrupt):
    """Ctrl-C while runs were going: ``done`` holds, in the order of the specs, the
    outcome of every run that had finished (None for the others)."""

    def __init__(self, done: list[Outcome | None]) -> None:
        super().__init__()
        self.done = done


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group: the parent decides, workers go on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _finished(future: Future[Outcome]) -> Outcome | None:
    if future.done() and not future.cancelled() and future.exception() is None:
        return future.result()
    return None


class Executor:
    """Runs specs and returns outcomes in the order given."""

    def map(self, specs: Sequence[RunSpec], progress: Progress | None = None) -> list[Outcome]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers."""

    def abort(self) -> None:
        """Stop at once (after Ctrl-C): drop queued runs and end the running ones."""
        self.close()


class LocalExecutor(Executor):
    """Local worker processes (``-j``); one job runs in this process."""

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def map(self, specs: Sequence[RunSpec], progress: Progress | None = None) -> list[Outcome]:
        if self.jobs == 1 or len(specs) <= 1:
            out: list[Outcome] = []
            try:
                for spec in specs:
                    out.append(run_spec(spec))
                    if progress:
                        progress(1)
            except KeyboardInterrupt:
                raise RunsInterrupted(out + [None] * (len(specs) - len(out))) from None
            return out
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, initializer=_ignore_interrupts)
        futures = [self._pool.submit(run_spec, spec) for spec in specs]
        results: list[Outcome] = []
        try:
            for future in futures:
                results.append(future.result())
                if progress:
                    progress(1)
        except KeyboardInterrupt:
            raise RunsInterrupted([_finished(f) for f in futures]) from None
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def abort(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            # The pool has no public way to end a running call: end its processes.
            for process in list((getattr(self._pool, "_processes", None) or {}).values()):
                process.terminate()
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
