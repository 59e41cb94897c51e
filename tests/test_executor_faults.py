"""Executors under faults: a worker killed, a Dask address that is wrong, silent, not Dask,
without workers, or a scheduler that dies mid-sweep. Finished runs are kept, lost ones
come back as failed runs (data), and the command line says what happened in one line;
nothing hangs and nothing prints a traceback. ``-j`` starts no more workers than useful.

The Dask tests start a real scheduler and worker (``distributed`` is a test dependency)
as processes of their own, so that they can be killed; each wait has a timeout.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import cli
from simulator.errors import IpsimError
from simulator.experiments.executors import (
    DaskExecutor,
    LocalExecutor,
    RunSpec,
    parse_dask_address,
    probe_dask,
    usable_cores,
)

from conftest import make_scenario

ROOT = Path(__file__).resolve().parents[1]


def _spec(duration: str = "2m", seed: int = 0, **kwargs) -> RunSpec:
    doc = make_scenario(nodes=2, replicas=20, duration=duration, **kwargs)
    return RunSpec(doc, seed, None, {"seed": seed})


def _jobs_doc(duration: str) -> dict:
    """Poisson jobs, 3 a second: a run of seconds for a day, of milliseconds for a minute."""
    doc = make_scenario(nodes=3, replicas=0, duration=duration)
    doc["sample_every"] = "10m"
    doc["workloads"].append(
        {"name": "etl", "kind": "job", "cluster": "aks1", "rate": "3/s",
         "lifetime": {"distribution": "fixed", "value": "20s"}}
    )  # fmt: skip
    return doc


def _slow_spec(seed: int) -> RunSpec:
    return RunSpec(_jobs_doc("1d"), seed, None, {"seed": seed})


def invoke(*args) -> tuple[int, list[str], str]:
    done = CliRunner().invoke(cli, [str(a) for a in args], prog_name="ipsim")
    return done.exit_code, done.stderr.splitlines(), done.stdout


# --- local processes ------------------------------------------------------------------


def test_no_more_workers_than_runs_or_cores():
    executor = LocalExecutor(512)
    try:
        outcomes = executor.map([_spec(seed=s) for s in range(2)])
        assert executor.workers == min(2, usable_cores())
        if executor.workers > 1:
            assert len(executor._pool._processes) <= 2
        assert all(o.error is None for o in outcomes)
    finally:
        executor.close()
    # One run (or one core) runs in this process: no pool at all.
    one = LocalExecutor(512)
    one.map([_spec()])
    assert one.workers == 0 and one._pool is None


@pytest.mark.skipif(usable_cores() < 2, reason="needs two cores for two worker processes")
def test_a_killed_worker_keeps_finished_runs_and_loses_the_others():
    executor = LocalExecutor(2)
    specs = [_spec(seed=0), *(_slow_spec(seed) for seed in range(1, 5))]
    killed: list[int] = []

    def kill_one(_: int) -> None:
        # Called once the first (quick) run is back; the slow ones are still running.
        if not killed:
            pid = next(iter(executor._pool._processes))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    began = time.monotonic()
    try:
        outcomes = executor.map(specs, progress=kill_one)
    finally:
        executor.close()
    assert time.monotonic() - began < 60
    assert outcomes[0].error is None and outcomes[0].summary is not None
    lost = [o for o in outcomes if o.lost]
    assert lost, "no run was lost with its worker"
    for outcome in lost:
        assert outcome.error == "lost: its worker process died (killed, or out of memory)"
        assert outcome.summary is None
    assert all(o.lost or o.error is None for o in outcomes)
    assert [o.seed for o in outcomes] == [0, 1, 2, 3, 4]  # in the order given
    # The executor starts a new pool for the next runs.
    again = LocalExecutor(2)
    try:
        assert all(o.error is None for o in again.map([_spec(seed=s) for s in range(2)]))
    finally:
        again.close()


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _cpu(pid: int) -> float:
    """CPU seconds ``pid`` has used (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(
    usable_cores() < 2 or not Path("/proc/self/stat").exists(),
    reason="needs two cores for two workers, and /proc to find them",
)
def test_a_killed_worker_is_a_failed_row_of_a_sweep(tmp_path):
    """``ipsim sweep -j 2`` of a quick and a slow run: once the quick one is done (its
    worker idle), the other worker is killed. The sweep keeps the quick run, the lost
    one is a row with its error, and the command ends normally, saying 1 failed."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(_jobs_doc("1m")))
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "sweep", str(scenario), "--set",
         "duration=1m,1d", "-j", "2", "-o", str(tmp_path / "sw")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    victim = None
    while victim is None:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
        workers = _children(proc.pid)
        if len(workers) == 2:
            before = {w: _cpu(w) for w in workers}
            time.sleep(0.5)
            after = {w: _cpu(w) for w in workers}
            idle = [w for w in workers if after[w] - before[w] < 0.05]
            busy = [w for w in workers if after[w] - before[w] > 0.2]
            if idle and busy:
                victim = busy[0]
        else:
            time.sleep(0.1)
    os.kill(victim, signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "2 runs, 1 failed; results written to" in out
    quick, slow = csv.DictReader(io.StringIO((tmp_path / "sw" / "sweep.csv").read_text()))
    assert quick["set:duration"] == "1m" and quick["error"] == ""
    assert float(quick["pods.created"]) > 100
    assert slow["error"] == "lost: its worker process died (killed, or out of memory)"
    assert slow["pods.created"] == ""


# --- Dask: addresses --------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["", "tcp://", "tcp://host", "tcp://host:port", "tcp://host:99999", "http://host:8786",
     "tcp://host:8786/path", "tcp://user@host:8786", "host", ":8786", "tcp://[::1:8786"],
)  # fmt: skip
def test_a_malformed_dask_address_is_refused_at_once(address):
    with pytest.raises(IpsimError, match="not a scheduler address such as tcp://host:8786"):
        parse_dask_address(address)


def test_well_formed_dask_addresses():
    assert parse_dask_address("tcp://10.0.0.5:8786") == ("10.0.0.5", 8786)
    assert parse_dask_address("scheduler:8786") == ("scheduler", 8786)
    assert parse_dask_address("tcp://[::1]:8786") == ("::1", 8786)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_no_scheduler_on_the_port_is_refused_quickly():
    address = f"tcp://127.0.0.1:{_free_port()}"
    began = time.monotonic()
    with pytest.raises(IpsimError, match=f"--dask {address}: cannot connect"):
        probe_dask(address, timeout=2)
    assert time.monotonic() - began < 5


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.mark.parametrize(
    ("behaviour", "why"),
    [
        ("silent", "it sent no greeting"),  # a server that waits for the client (HTTP)
        ("huge", "not a Dask scheduler"),  # 8 bytes announcing exabytes
        ("junk", "not a Dask scheduler"),
        ("close", "it closed the connection"),
    ],
)
def test_something_else_on_the_port_is_refused_without_hanging(behaviour, why):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            if behaviour == "huge":
                self.request.sendall(b"\xff" * 8)
            elif behaviour == "junk":
                self.request.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" * 4)
            elif behaviour == "close":
                return
            time.sleep(3)

    with _Server(("127.0.0.1", 0), Handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        address = f"tcp://127.0.0.1:{server.server_address[1]}"
        began = time.monotonic()
        with pytest.raises(IpsimError) as info:
            DaskExecutor(address, timeout=1)
        server.shutdown()
    assert time.monotonic() - began < 5
    assert str(info.value).startswith(f"--dask {address}: something answers on port")
    assert why in str(info.value)


def test_the_command_line_says_so_in_one_line(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(make_scenario(duration="1m")))
    for address, message in [
        ("nonsense:port", "not a scheduler address"),
        (f"tcp://127.0.0.1:{_free_port()}", "cannot connect"),
    ]:
        code, err, out = invoke(
            "sweep", scenario, "--set", "seed=1,2", "--dask", address, "-o", tmp_path / "out"
        )
        assert code == 2 and out == ""
        (line,) = err
        assert line.startswith("error: --dask ") and message in line
    assert not (tmp_path / "out").exists()


# --- Dask: a real scheduler -------------------------------------------------------------


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@pytest.fixture
def scheduler():
    port = _free_port()
    proc = _start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                   str(port), "--no-dashboard"])  # fmt: skip
    address = f"tcp://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            probe_dask(address, timeout=1)
            break
        except IpsimError:
            assert proc.poll() is None and time.monotonic() < deadline, "no scheduler"
            time.sleep(0.2)
    yield address, proc
    proc.kill()
    proc.wait(timeout=30)


def test_a_scheduler_without_workers_is_an_error_naming_it(scheduler):
    address, _ = scheduler
    began = time.monotonic()
    with pytest.raises(IpsimError) as info:
        DaskExecutor(address, worker_timeout=1)
    assert time.monotonic() - began < 10
    assert str(info.value) == (
        f"--dask {address}: the scheduler has no workers (waited 1 s); start some with: "
        f"dask worker {address}"
    )


def test_a_scheduler_dying_mid_sweep_keeps_the_finished_runs(scheduler):
    address, proc = scheduler
    worker = _start(["distributed.cli.dask_worker", address, "--nthreads", "1",
                     "--no-dashboard"])  # fmt: skip
    try:
        executor = DaskExecutor(address, timeout=2, worker_timeout=30)
        specs = [_spec(seed=0), *(_slow_spec(seed) for seed in range(1, 4))]
        done: list[int] = []

        def kill_scheduler(_: int) -> None:
            done.append(1)
            if len(done) == 1:
                proc.kill()

        began = time.monotonic()
        outcomes = executor.map(specs, progress=kill_scheduler)
        executor.close()
        assert time.monotonic() - began < 60
    finally:
        worker.kill()
        worker.wait(timeout=30)
    finished = [o for o in outcomes if not o.lost]
    assert finished and all(o.error is None and o.summary for o in finished)
    lost = [o for o in outcomes if o.lost]
    assert lost, "every run finished before the scheduler went"
    assert {o.error for o in lost} == {f"lost: the Dask scheduler at {address} went away"}
    assert [o.seed for o in outcomes] == [0, 1, 2, 3]
