"""Results folders: contents, determinism, atomic writes and overwrite protection."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import simulator
from simulator.errors import OutputError

from conftest import make_scenario

ROOT = Path(__file__).resolve().parent.parent
FILES = {
    "summary.json", "subnets.csv", "nnc.csv", "nodes.csv", "pods.csv", "events.csv",
    "scenario.resolved.yaml", "utilization.png", "holders.csv", "holders.png",
    ".ipsim-results.json",
}  # fmt: skip


def _doc():
    return make_scenario(
        nodes=2,
        replicas=30,
        system_pods=2,
        timeline=[{"at": "1m", "scale_workload": {"workload": "web", "replicas": 70}}],
    )


def test_results_folder_holds_every_output(tmp_path):
    out = simulator.run(_doc()).save(tmp_path / "r")
    assert {p.name for p in out.iterdir()} == FILES
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= {"scenario", "seed", "duration_s", "subnets", "nodes", "pods"}
    assert set(summary["subnets"]["podsubnet"]) >= {
        "cidr", "capacity", "peak_allocated", "peak_assigned", "final_allocated",
        "final_assigned", "min_free", "full_at_s", "exhausted_count", "exhausted_s",
        "exhausted_at_end",
    }  # fmt: skip
    assert set(summary["pods"]["ip_wait_s"]) == {"p50", "p95", "max"}
    subnets = pd.read_csv(out / "subnets.csv")
    assert list(subnets.columns)[:2] == ["time_s", "subnet"]
    assert {"capacity", "allocated", "assigned", "free", "exhausted"} <= set(subnets.columns)
    times = sorted(set(subnets["time_s"]))
    assert times[0] == 0 and times[-1] == 600 and times[1] == 10
    nnc = pd.read_csv(out / "nnc.csv")
    assert list(nnc.columns) == [
        "time_s", "cluster", "node_pool", "node", "subnet", "requested_ips", "secondary_ips",
        "primary_ips", "assigned_ips", "available_ips", "pending_release_ips",
        "pending_programming_ips", "batch_size", "max_ips", "exhausted", "nc_status",
    ]  # fmt: skip
    events = pd.read_csv(out / "events.csv")
    assert list(events.columns) == [
        "time_s",
        "kind",
        "cluster",
        "node_pool",
        "node",
        "subnet",
        "message",
    ]
    assert (out / "utilization.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resolved_scenario_has_defaults_and_reloads_to_the_same_scenario(tmp_path):
    result = simulator.run(_doc(), seed=99)
    out = result.save(tmp_path / "r")
    document = yaml.safe_load((out / "scenario.resolved.yaml").read_text())
    assert document["seed"] == 99
    pool = document["clusters"][0]["node_pools"][0]
    assert pool["max_pods"] == 250 and pool["pod_subnet"] == "podsubnet"
    assert document["clusters"][0]["timings"]["node_provision"] == "3m"
    assert simulator.load_scenario(document) == result.scenario


def test_names_that_read_as_numbers_are_quoted_in_the_resolved_scenario(tmp_path):
    """``1e3`` and ``0o17`` are text to YAML 1.1 (PyYAML's dumper leaves them bare) but
    numbers to the loader: the resolved scenario quotes them, so that it loads again."""
    doc = _doc()
    doc["description"] = "1.5e3"
    doc["network"]["vnets"][0]["name"] = "0o17"
    subnets = doc["network"]["vnets"][0]["subnets"]
    subnets[1]["name"] = "1e3"
    doc["clusters"][0]["pod_subnet"] = "1e3"
    result = simulator.run(doc)
    text = (result.save(tmp_path / "r") / "scenario.resolved.yaml").read_text()
    assert "name: '1e3'" in text and "name: '0o17'" in text
    again = simulator.load_scenario(tmp_path / "r" / "scenario.resolved.yaml")
    assert again == result.scenario
    assert again.description == "1.5e3"


def test_allocated_equals_the_sum_of_node_holdings_at_the_end():
    result = simulator.run(_doc())
    last = result.nnc.groupby("node").tail(1)
    held = int((last["secondary_ips"] + 1).sum())
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == held
    final = result.subnets[result.subnets["time_s"] == 600].set_index("subnet")
    assert final.loc["podsubnet", "allocated"] == held
    assert final.loc["podsubnet", "assigned"] == int(last["assigned_ips"].sum())


def test_same_seed_gives_byte_identical_files_across_processes(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(_doc()))
    for name in ("a", "b"):
        subprocess.run(
            [sys.executable, "-m", "simulator", "run", str(scenario), "-o",
             str(tmp_path / name), "--seed", "5"],
            check=True, capture_output=True, cwd=ROOT,
        )  # fmt: skip
    simulator.run(scenario, seed=5).save(tmp_path / "c")
    for file in sorted(FILES):
        a = (tmp_path / "a" / file).read_bytes()
        assert a == (tmp_path / "b" / file).read_bytes(), file
        assert a == (tmp_path / "c" / file).read_bytes(), file


def test_existing_folder_is_not_overwritten_without_force(tmp_path):
    result = simulator.run(_doc())
    target = result.save(tmp_path / "r")
    before = (target / "summary.json").read_bytes()
    with pytest.raises(simulator.OutputExistsError):
        result.save(target)
    result.save(target, force=True)
    assert (target / "summary.json").read_bytes() == before
    assert {p.name for p in target.iterdir()} == FILES
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no staging folder left
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="not a results folder written by ipsim"):
        result.save(mine, force=True)
    assert (mine / "keep.txt").read_text() == "mine"


def test_a_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    result = simulator.run(_doc())

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(RuntimeError):
        result.save(tmp_path / "r")
    assert list(tmp_path.iterdir()) == []
