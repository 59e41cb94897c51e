"""Executors: where many runs run. Local worker processes by default (``-j``), a Dask
cluster with an address (``--dask``); ``compare``, ``plan``, ``sweep`` and replicas
share them. Outcomes come back in the order of the specs.

A run that never comes back (its worker process killed, the scheduler gone) is a lost
outcome, like a failed run; the runs that finished are kept. Ctrl-C raises
:class:`RunsInterrupted` carrying the runs finished so far.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import struct
import time
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any
from urllib.parse import urlsplit

from simulator.errors import IpsimError
from simulator.experiments.runs import Outcome, RunSpec, lost, run_spec

__all__ = [
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "Progress",
    "RunsInterrupted",
    "make_executor",
    "parse_dask_address",
    "probe_dask",
    "run_all",
    "usable_cores",
]

Progress = Callable[[int], None]


class RunsInterrupted(KeyboardInterrupt):
    """Ctrl-C while runs were going: ``done`` holds, in the order of the specs, the
    outcome of every run that had finished (None for the others)."""

    def __init__(self, done: list[Outcome | None]) -> None:
        super().__init__()
        self.done = done


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _worker_start() -> None:
    """Each local worker leaves Ctrl-C and SIGTERM to the ``ipsim`` process, which stops
    the workers itself: no worker prints a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _finished(future: Future[Outcome]) -> Outcome | None:
    if future.done() and not future.cancelled() and future.exception() is None:
        return future.result()
    return None


class Executor:
    """Runs specs and returns outcomes in the order given. As a context manager it is
    closed on the way out, or aborted when the block raised (Ctrl-C, SIGTERM)."""

    def map(self, specs: Sequence[RunSpec], progress: Progress | None = None) -> list[Outcome]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers."""

    def abort(self) -> None:
        """Stop at once: runs under way are dropped, workers released."""
        self.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


class LocalExecutor(Executor):
    """Local worker processes (``-j``); one job runs in this process. No more workers
    start than there are runs to make or cores to run them (``workers``)."""

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = max(1, jobs or usable_cores())
        self.workers = 0  # processes of the current pool
        self._pool: ProcessPoolExecutor | None = None

    def map(self, specs: Sequence[RunSpec], progress: Progress | None = None) -> list[Outcome]:
        want = min(self.jobs, usable_cores(), len(specs))
        if want <= 1:
            out: list[Outcome] = []
            try:
                for spec in specs:
                    out.append(run_spec(spec))
                    if progress:
                        progress(1)
            except KeyboardInterrupt:
                raise RunsInterrupted(out + [None] * (len(specs) - len(out))) from None
            return out
        if self._pool is None or self.workers < want:
            self.close()
            self._pool = ProcessPoolExecutor(max_workers=want, initializer=_worker_start)
            self.workers = want
        futures = [self._pool.submit(run_spec, spec) for spec in specs]
        results: list[Outcome] = []
        broken = False
        try:
            for spec, future in zip(specs, futures, strict=True):
                try:
                    results.append(future.result())
                except BrokenProcessPool:
                    # A worker died (killed, out of memory): every run not finished is
                    # lost with it, the finished ones are kept.
                    results.append(lost(spec, "its worker process died (killed, or out of memory)"))
                    broken = True
                if progress:
                    progress(1)
        except KeyboardInterrupt:
            raise RunsInterrupted([_finished(f) for f in futures]) from None
        if broken:
            self.abort()
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
            self.workers = 0

    def abort(self) -> None:
        if self._pool is None:
            return
        # No public way to stop running workers before Python 3.14 (terminate_workers).
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)
        self._pool = None
        self.workers = 0


#: Seconds a Dask scheduler has to answer, and a cluster without workers to get one.
DASK_CONNECT_TIMEOUT = 5.0
DASK_WORKER_TIMEOUT = 10.0
#: The size a Dask scheduler's first message (its handshake, some 60 bytes) stays under.
_HANDSHAKE_LIMIT = 65_536


def parse_dask_address(address: str) -> tuple[str, int]:
    """(host, port) of ``tcp://HOST:PORT`` or ``HOST:PORT``; IPv6 hosts in brackets."""
    text = address.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    problem = f"--dask {address!r}: not a scheduler address such as tcp://host:8786"
    if scheme.lower() != "tcp":
        raise IpsimError(f"{problem} (only tcp:// is supported)")
    try:
        parts = urlsplit(f"tcp://{rest}")
        host, port = parts.hostname, parts.port
    except ValueError:
        raise IpsimError(problem) from None
    if not host or port is None or parts.path or parts.query or parts.fragment or "@" in rest:
        raise IpsimError(problem)
    return host, port


def _receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def probe_dask(address: str, timeout: float = DASK_CONNECT_TIMEOUT) -> None:
    """Check that a Dask scheduler answers at ``address`` before ``distributed`` talks to
    it: a scheduler greets every connection with a short handshake, and anything else on
    the port would have ``distributed`` wait, or read a huge length and try to allocate
    it. Raises :class:`IpsimError` naming the address and what was found there."""
    host, port = parse_dask_address(address)
    where = f"--dask {address}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror:
        raise IpsimError(f"{where}: cannot connect: unknown host {host!r}") from None
    except TimeoutError:
        raise IpsimError(f"{where}: cannot connect: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise IpsimError(f"{where}: cannot connect ({exc.strerror or exc})") from None
    not_dask = f"{where}: something answers on port {port}, but it is not a Dask scheduler"
    with sock:
        try:
            head = _receive(sock, 8)
            if len(head) < 8:
                raise IpsimError(f"{not_dask} (it closed the connection)")
            size = min(struct.unpack("<Q", head)[0], struct.unpack(">Q", head)[0])
            if not 0 < size <= _HANDSHAKE_LIMIT:
                raise IpsimError(not_dask)
            body = _receive(sock, size)
        except TimeoutError:
            raise IpsimError(f"{not_dask} (it sent no greeting within {timeout:g} s)") from None
        except OSError as exc:
            raise IpsimError(f"{not_dask} ({exc.strerror or exc})") from None
    if len(body) < size or b"compression" not in body or b"python" not in body:
        raise IpsimError(not_dask)


class DaskExecutor(Executor):
    """A Dask cluster (``--dask tcp://host:8786``); needs the ``distributed`` package.

    Each run's result is fetched as soon as it is done, so runs finished before the
    scheduler goes away are kept; the others come back as lost runs. A cluster without
    workers for ``worker_timeout`` seconds, at the start or later, is an error or loses
    the runs left, rather than a wait without end."""

    def __init__(
        self,
        address: str,
        *,
        timeout: float = DASK_CONNECT_TIMEOUT,
        worker_timeout: float = DASK_WORKER_TIMEOUT,
        poll: float = 0.2,
    ) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise IpsimError(
                "--dask needs the 'distributed' package: pip install 'ipsim[dask]'"
            ) from None
        probe_dask(address, timeout)
        self.address, self.timeout, self.worker_timeout, self.poll = (
            address,
            timeout,
            worker_timeout,
            poll,
        )
        # distributed logs a lost scheduler at ERROR level on stderr; ipsim says it once.
        self._logger = logging.getLogger("distributed")
        self._level = self._logger.level
        self._logger.setLevel(logging.CRITICAL)
        try:
            self.client = Client(address, timeout=f"{timeout}s", set_as_default=False)
        except Exception as exc:  # OSError, TimeoutError, or the protocol's own errors
            self._logger.setLevel(self._level)
            raise IpsimError(f"--dask {address}: cannot connect ({exc})") from None
        try:
            self.client.wait_for_workers(1, timeout=worker_timeout)
        except Exception:
            self.close()
            raise IpsimError(
                f"--dask {address}: the scheduler has no workers (waited {worker_timeout:g} s); "
                f"start some with: dask worker {address}"
            ) from None

    def _workers(self) -> int:
        try:
            return int(self.client.scheduler_info(n_workers=0).get("n_workers", 0))
        except Exception:
            return 0

    def _collect(self, future: Any, spec: RunSpec) -> Outcome:
        try:
            return future.result(timeout=self.timeout)
        except CancelledError:
            return lost(spec, f"the Dask scheduler at {self.address} went away")
        except Exception as exc:  # the task itself failed (run_spec never raises)
            return lost(spec, f"on the Dask cluster at {self.address}: {type(exc).__name__}: {exc}")

    def map(self, specs: Sequence[RunSpec], progress: Progress | None = None) -> list[Outcome]:
        futures = self.client.map(run_spec, list(specs), pure=False)
        out: list[Outcome | None] = [None] * len(specs)
        try:
            return self._gather(specs, futures, out, progress)
        except KeyboardInterrupt:
            raise RunsInterrupted(out) from None

    def _gather(
        self,
        specs: Sequence[RunSpec],
        futures: list[Any],
        out: list[Outcome | None],
        progress: Progress | None,
    ) -> list[Outcome]:
        pending = dict(enumerate(futures))
        idle_since = time.monotonic()
        why = ""
        while pending and not why:
            done = [i for i, future in pending.items() if future.status != "pending"]
            for i in done:
                out[i] = self._collect(pending.pop(i), specs[i])
                if progress:
                    progress(1)
            if done or self._workers():
                idle_since = time.monotonic()
            elif self.client.status not in ("running", "connecting"):
                why = f"the Dask scheduler at {self.address} went away"
            elif time.monotonic() - idle_since > self.worker_timeout:
                why = f"no Dask worker left at {self.address} (waited {self.worker_timeout:g} s)"
            if pending and not done:
                time.sleep(self.poll)
        for i, future in pending.items():
            future.cancel()
            out[i] = lost(specs[i], why)
        return [o for o in out if o is not None]

    def close(self) -> None:
        try:
            self.client.close(timeout=self.timeout)
        except Exception:  # the scheduler is gone already
            pass
        finally:
            self._logger.setLevel(self._level)


def make_executor(jobs: int | None = None, dask: str | None = None) -> Executor:
    """Dask when an address is given, local processes otherwise."""
    return DaskExecutor(dask) if dask else LocalExecutor(jobs)


def run_all(
    specs: Sequence[RunSpec], executor: Executor | None, progress: Progress | None = None
) -> list[Outcome]:
    """Run ``specs`` on ``executor`` (default: one after another in this process)."""
    return (executor or LocalExecutor(1)).map(specs, progress)
