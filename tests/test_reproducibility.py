"""Runs repeat exactly, and the command line is safe with the user's files.

* The same scenario and seed give byte-identical results folders from two fresh
  processes (with different string hash seeds); ``ipsim sweep`` gives the same
  ``sweep.csv`` with one worker process as with two.
* Ctrl-C (SIGINT) ends a run with exit status 130 and one line, leaving neither a
  results folder nor a staging folder (``.NAME.*``) behind.
* An existing results folder is replaced only with ``--force``.
* YAML is read with a safe loader: ``!!python/...`` tags are refused, never run.
* An empirical lifetime file is found next to the scenario, wherever ipsim runs from,
  and must lie inside the scenario's folder.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulator import ScenarioError, load_scenario
from simulator.results.folders import write_folder

from conftest import make_scenario

ROOT = Path(__file__).resolve().parents[1]


def ipsim(*args: Any, cwd: Path = ROOT, hash_seed: str = "0", timeout: float = 120):
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run(
        [sys.executable, "-m", "simulator", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def _random_scenario() -> dict[str, Any]:
    """Every source of randomness at once: Poisson arrivals, three lifetime laws, an
    empirical one, two clusters sharing a subnet, exhaustion, autoscaler, rollout."""
    doc = make_scenario(nodes=3, replicas=40, pod_cidr="10.241.0.0/24", duration="30m")
    doc["seed"] = 11
    cluster = doc["clusters"][0]
    cluster["ipam"] = {"pool_monitor": "v2", "batch_size": 8}
    cluster["node_pools"].append(
        {
            "name": "batch",
            "count": 1,
            "max_pods": 30,
            "node_subnet": "nodesubnet",
            "autoscaler": {"min": 1, "max": 4},
            "allocatable": {"cpu": "2", "memory": "8Gi"},
        }
    )
    doc["network"]["exhaustion"] = {"enabled": True, "upper_percent": 85, "lower_percent": 60}
    job = {"cluster": "aks1", "kind": "job", "node_pool": "batch", "stop": "25m"}
    doc["workloads"] += [
        {**job, "name": "etl", "rate": "20/min", "requests": {"cpu": "500m"},
         "lifetime": {"distribution": "lognormal", "median": "90s", "sigma": 0.8}},
        {**job, "name": "report", "rate": "4/min",
         "lifetime": {"distribution": "exponential", "mean": "3m"}},
        {**job, "name": "replay", "rate": "2/min",
         "lifetime": {"distribution": "empirical", "file": "data/lifetimes.csv",
                      "column": "seconds"}},
    ]  # fmt: skip
    doc["timeline"] = [
        {"at": "5m", "rollout_workload": {"workload": "web", "max_surge": "50%"}},
        {"at": "12m", "scale_workload": {"workload": "web", "replicas": 80}},
    ]
    return doc


def _write(folder: Path, doc: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "lifetimes.csv").write_text("seconds\n30\n45\n60\n300\n900\n")
    scenario = folder / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return scenario


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --- the same run twice -------------------------------------------------------------------


def test_two_fresh_processes_write_byte_identical_results(tmp_path):
    scenario = _write(tmp_path / "in", _random_scenario())
    first = ipsim("run", scenario, "-o", tmp_path / "a", hash_seed="1")
    second = ipsim("run", scenario, "-o", tmp_path / "b", hash_seed="2")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert first.stdout.replace(str(tmp_path / "a"), "") == second.stdout.replace(
        str(tmp_path / "b"), ""
    )
    a, b = _contents(tmp_path / "a"), _contents(tmp_path / "b")
    assert set(a) >= {"subnets.csv", "pods.csv", "nnc.csv", "events.csv", "summary.json"}
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], f"{name} differs between two runs of the same seed"
    # The seed matters: jobs arrive differently under another one.
    other = ipsim("run", scenario, "-o", tmp_path / "c", "--seed", "12")
    assert other.returncode == 0, other.stderr
    assert (tmp_path / "c" / "pods.csv").read_bytes() != a["pods.csv"]


def test_a_sweep_gives_the_same_table_on_one_worker_and_on_two(tmp_path):
    doc = _random_scenario()
    doc["duration"] = "10m"
    doc["timeline"] = []
    scenario = _write(tmp_path / "in", doc)
    runs = {}
    for jobs in ("1", "2"):
        done = ipsim(
            "sweep", scenario,
            "--set", "clusters[0].ipam.batch_size=4,16",
            "--set", "workloads[web].replicas=20,60",
            "--replicas", "2", "-j", jobs, "-o", tmp_path / f"j{jobs}",
            hash_seed=jobs,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        runs[jobs] = (tmp_path / f"j{jobs}" / "sweep.csv").read_bytes()
    assert runs["1"] == runs["2"]
    rows = list(csv.DictReader(io.StringIO(runs["1"].decode())))
    assert len(rows) == 2 * 2 * 2
    assert all(row["error"] == "" for row in rows)
    assert len({row["pods.created"] for row in rows}) > 1  # the settings took effect


# --- interruption and existing folders ---------------------------------------------------


def _long_scenario(folder: Path) -> Path:
    # Minutes of work if left alone: thousands of pods come and go for 30 days.
    doc = make_scenario(nodes=100, replicas=500, duration="30d")
    doc["sample_every"] = "1m"
    doc["timeline"] = [
        {
            "at": f"{m}m",
            "scale_workload": {"workload": "web", "replicas": 500 + 2000 * (m // 10 % 2)},
        }
        for m in range(10, 43200, 10)
    ]
    return _write(folder, doc)


def _wait_until_simulating(proc: subprocess.Popen[str], cpu_seconds: float = 2.5) -> None:
    """Wait until the child has spent ``cpu_seconds`` of CPU (imports take about one), so
    that the signal reaches the simulation rather than the interpreter's start."""
    stat = Path(f"/proc/{proc.pid}/stat")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if not stat.exists():  # no procfs: a fixed wait
            time.sleep(4)
            return
        fields = stat.read_text().rsplit(")", 1)[1].split()
        if (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") >= cpu_seconds:
            return
        time.sleep(0.1)


def test_ctrl_c_exits_130_in_one_line_and_leaves_no_folder_behind(tmp_path):
    scenario = _long_scenario(tmp_path / "in")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "run", str(scenario), "-o", str(out / "result")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    _wait_until_simulating(proc)
    assert proc.poll() is None, "the long run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.splitlines() == ["interrupted: no results were written"]
    assert stdout == ""
    assert not out.exists() or list(out.iterdir()) == []  # no result, no .result.* staging


def test_an_interrupted_save_leaves_neither_folder_nor_staging(tmp_path):
    def fill(folder: Path) -> None:
        (folder / "subnets.csv").write_text("time_s\n0\n")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_folder(tmp_path / "result", fill)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_results_folder_is_kept_unless_forced(tmp_path):
    scenario = _write(tmp_path / "in", make_scenario(nodes=1, replicas=2, duration="2m"))
    out = tmp_path / "out"
    assert ipsim("run", scenario, "-o", out).returncode == 0
    first = _contents(out)
    refused = ipsim("run", scenario, "-o", out)
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        f"error: {out}: exists already; use --force to replace it"
    ]
    assert _contents(out) == first
    forced = ipsim("run", scenario, "-o", out, "--force", "--seed", "5")
    assert forced.returncode == 0, forced.stderr
    assert _contents(out)["summary.json"] != first["summary.json"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_force_never_replaces_a_folder_ipsim_did_not_write(tmp_path):
    scenario = _write(tmp_path / "in", make_scenario(nodes=1, replicas=2, duration="2m"))
    mine = tmp_path / "mythesis"
    mine.mkdir()
    (mine / "thesis.tex").write_text("mine")
    refused = ipsim("run", scenario, "-o", mine, "--force")
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        f"error: {mine}: exists and is not a results folder written by ipsim; ipsim will "
        "not replace it, even with --force: choose another folder"
    ]
    assert _contents(mine) == {"thesis.tex": b"mine"}
    # An ipsim folder into which a file of the user's was put is not replaced either.
    out = tmp_path / "out"
    assert ipsim("run", scenario, "-o", out).returncode == 0
    (out / "notes.txt").write_text("mine")
    refused = ipsim("run", scenario, "-o", out, "--force")
    assert refused.returncode == 2
    assert "holds notes.txt, which ipsim did not write" in refused.stderr
    assert (out / "notes.txt").read_text() == "mine"


# --- safe YAML ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
        "!!python/name:os.system",
        "!!python/object:os.PathLike {{}}",
    ],
    ids=["apply", "new", "name", "object"],
)
def test_python_tags_are_refused_not_run(tmp_path, tag):
    marker = tmp_path / "ran"
    scenario = tmp_path / "evil.yaml"
    doc = yaml.safe_dump(make_scenario(), sort_keys=False)
    scenario.write_text(doc.replace("name: test", f"name: {tag.format(marker=marker)}", 1))
    for command in ("validate", "run"):
        done = (
            ipsim(command, scenario, "-o", tmp_path / "out")
            if command == "run"
            else (ipsim(command, scenario))
        )
        assert done.returncode == 2
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"error: {scenario}: invalid YAML: ")
        assert "could not determine a constructor for the tag" in line
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


# --- empirical lifetime files ---------------------------------------------------------------


def _empirical(folder: Path, file: str) -> Path:
    doc = make_scenario(nodes=1, duration="5m")
    doc["workloads"].append(
        {
            "name": "replay",
            "kind": "job",
            "cluster": "aks1",
            "rate": "6/min",
            "lifetime": {"distribution": "empirical", "file": file, "column": "seconds"},
        }
    )
    return _write(folder, doc)


def test_an_empirical_file_is_found_next_to_the_scenario_from_anywhere(tmp_path):
    scenario = _empirical(tmp_path / "project" / "scenarios", "data/lifetimes.csv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = ipsim("run", scenario, "-o", tmp_path / "out", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    pods = (tmp_path / "out" / "pods.csv").read_text().splitlines()
    assert sum(line.startswith("replay-") for line in pods) > 10
    # The same from the scenario's own folder, and through the API from anywhere.
    again = ipsim("run", scenario.name, "-o", tmp_path / "again", cwd=scenario.parent)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again" / "pods.csv").read_text().splitlines() == pods
    assert load_scenario(scenario).workloads[1].lifetime.distribution == "empirical"


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("../secrets.csv", "must be a path inside the scenario's folder (got '../secrets.csv')"),
        ("data/../../secrets.csv", "must be a path inside the scenario's folder"),
        ("link.csv", "must be a path inside the scenario's folder (got 'link.csv')"),
        ("ABSOLUTE", "must be a path inside the scenario's folder"),
        ("data/nothing.csv", "no such file next to the scenario"),
    ],
    ids=["dot-dot", "dot-dot-inside", "symlink-out", "absolute", "missing"],
)
def test_an_empirical_file_must_exist_inside_the_scenario_folder(tmp_path, file, message):
    secrets = tmp_path / "secrets.csv"
    secrets.write_text("seconds\n1\n")
    folder = tmp_path / "scenarios"
    folder.mkdir()
    if file == "link.csv":
        (folder / "link.csv").symlink_to(secrets)
    if file == "ABSOLUTE":
        file = str(secrets)
    scenario = _empirical(folder, file)
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario)
    assert str(info.value).startswith(f"{scenario}: workloads[replay].lifetime.file: ")
    assert message in str(info.value)
    done = ipsim("validate", scenario)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"error: {info.value}"]
