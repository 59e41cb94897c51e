"""Replaying a pod trace (``kind: trace``): pods created and deleted at the trace's
times, placed where it says, and the replay's own check (replay.csv, replay_check.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import simulator
from simulator.cli import cli
from simulator.model.invariants import check
from simulator.model.world import World
from simulator.results.replay import REPLAY_COLUMNS

TRACE = """name,created,deleted,cpu,memory,group
web-1,0,300,250m,256Mi,web
web-2,0,,250m,256Mi,web
web-3,60,420,0.5,512Mi,web
batch-1,120,180,1,1Gi,batch
batch-2,120,120.5,1,1Gi,batch
late-1,590,,0.1,64Mi,web
"""


def _scenario(
    tmp_path: Path,
    trace: str = TRACE,
    *,
    cni: str = "dynamic",
    source: dict[str, Any] | None = None,
    pools: list[dict[str, Any]] | None = None,
    workload: dict[str, Any] | None = None,
    duration: str = "10m",
    name: str = "trace.csv",
) -> Path:
    (tmp_path / name).write_text(trace)
    subnets = [{"name": "nodes", "cidr": "10.240.0.0/22"}]
    cluster: dict[str, Any] = {
        "name": "aks1",
        "cni": cni,
        "node_pools": pools
        or [{"name": "user", "count": 2, "max_pods": 30, "node_subnet": "nodes"}],
    }
    if cni == "dynamic":
        subnets.append({"name": "pods", "cidr": "10.241.0.0/22"})
        cluster["pod_subnet"] = "pods"
    doc = {
        "name": "replay",
        "duration": duration,
        "sample_every": "10s",
        "network": {"vnets": [{"name": "v", "address_space": ["10.0.0.0/8"], "subnets": subnets}]},
        "clusters": [cluster],
        "workloads": [
            {
                "name": "trace",
                "kind": "trace",
                "cluster": "aks1",
                "source": {"format": "pod-csv", "file": name, **(source or {})},
                **(workload or {}),
            }
        ],
    }
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _check(result) -> dict[str, Any]:
    return result.replay_check["workloads"]["trace"]


@pytest.mark.parametrize("cni", ["dynamic", "traditional"])
def test_a_replay_that_fits_follows_the_trace_exactly(tmp_path, cni):
    scenario = simulator.load_scenario(_scenario(tmp_path, cni=cni))
    world = World(scenario, 0)
    world.run(check=check)  # the invariants hold at every change point
    result = simulator.run(scenario)
    c = _check(result)
    assert c["alive"] == {
        "max_abs_diff": 0,
        "share_equal": 1.0,
        "change_points": 8,
        "max_abs_diff_at_s": None,
    }
    assert c["pods"] == {"read": 6, "replayed": 6, "dropped": 0, "dropped_by_reason": {}}
    assert c["lag_s"] == {"p50": 0.0, "p95": 0.0, "max": 0.0}
    assert c["passed"] and result.replay_check["passed"]
    frame = result.replay
    assert list(frame.columns) == ["workload", *REPLAY_COLUMNS]
    rows = frame.set_index("pod")
    assert (
        rows.loc["web-3", "replay_created_s"] == 60 and rows.loc["web-3", "replay_deleted_s"] == 420
    )
    assert set(rows["status"]) == {"on time"}
    pods = result.pods.set_index("pod")
    # The trace's requests: a pod's own, not the workload's.
    assert pods.loc["batch-2", "created_s"] == 120 and pods.loc["batch-2", "deleted_s"] == 120.5
    assert pods.loc["web-2", "state"] == "running"


def test_files_of_the_results_folder(tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    got = runner.invoke(cli, ["run", str(_scenario(tmp_path)), "-o", str(out), "--strict"])
    assert got.exit_code == 0, got.output
    assert "replay trace: 6 pods read, 6 replayed, 0 dropped; alive max diff 0" in got.output
    check_file = json.loads((out / "replay_check.json").read_text())
    assert check_file["passed"] and check_file["workloads"]["trace"]["alive"]["share_equal"] == 1.0
    assert (out / "replay.csv").read_text().splitlines()[0] == ",".join(
        ["workload", *REPLAY_COLUMNS]
    )


def test_a_window_makes_pods_alive_at_its_start_initial_and_counts_the_rest(tmp_path):
    result = simulator.run(
        _scenario(tmp_path, source={"window": {"start": 100, "end": 400}}, duration="5m")
    )
    c = _check(result)
    assert c["pods"]["dropped_by_reason"] == {"arrives after the window": 1}
    assert c["alive"]["max_abs_diff"] == 0
    rows = result.replay.set_index("pod")
    # Alive at 100: there at t = 0; web-3 (60..420) stays past the window's end.
    assert (
        rows.loc["web-1", "replay_created_s"] == 0 and rows.loc["web-1", "trace_deleted_s"] == 200
    )
    assert rows.loc["batch-1", "trace_bound_s"] == 20
    assert pd_isna(rows.loc["web-3", "trace_deleted_s"])
    assert rows.loc["late-1", "status"] == "dropped"


def pd_isna(value) -> bool:
    return value != value  # NaN


def test_timestamps_origin_and_compression(tmp_path):
    trace = (
        "name,created,deleted\n"
        "a,2024-03-19T23:48:58Z,2024-03-19T23:58:58Z\n"
        "b,2024-03-19T23:49:58Z,\n"
    )
    result = simulator.run(
        _scenario(tmp_path, trace, source={"origin": "2024-03-19T23:48:48Z", "compress": 10})
    )
    rows = result.replay.set_index("pod")
    # 10 s after the origin, compressed 10×: 1 s; a lives 600 s of trace, 60 simulated.
    assert rows.loc["a", "replay_created_s"] == 1 and rows.loc["a", "replay_deleted_s"] == 61
    assert rows.loc["b", "replay_created_s"] == 7
    assert _check(result)["source"]["compress"] == 10
    assert _check(result)["warnings"] == []
    short = simulator.run(_scenario(tmp_path, trace, source={"compress": 100}))
    (warning,) = _check(short)["warnings"]
    assert "after compression by 100, 1 of 2 pods live less than pod_start + " in warning


def test_an_origin_timestamp_needs_a_trace_of_timestamps(tmp_path):
    with pytest.raises(simulator.ScenarioError, match=r"workloads\[trace\]\.source\.origin: is a"):
        simulator.load_scenario(_scenario(tmp_path, source={"origin": "2024-03-19T23:48:48Z"}))


UNSCHEDULED = "name,created,scheduled,deleted\na,0,0,100\nb,10,,200\nc,,,50\nd,20,30,\n"


def test_unscheduled_and_creation_less_pods(tmp_path):
    result = simulator.run(_scenario(tmp_path, UNSCHEDULED))
    c = _check(result)
    assert c["pods"]["dropped_by_reason"] == {"never scheduled in the trace": 1}
    rows = result.replay.set_index("pod")
    assert rows.loc["c", "replay_created_s"] == 0  # no creation time: there from the start
    assert rows.loc["d", "replay_created_s"] == 30  # enters when the trace bound it
    assert c["alive"]["max_abs_diff"] == 0
    replayed = simulator.run(
        _scenario(
            tmp_path,
            UNSCHEDULED,
            source={"unscheduled": "replay", "arrive": "created", "missing_created": "drop"},
        )
    )
    c = _check(replayed)
    assert c["pods"]["dropped_by_reason"] == {"no creation time": 1}
    rows = replayed.replay.set_index("pod")
    # b was pending for good in the trace: here it runs (an "extra" pod); d binds at
    # 20, 10 s before the trace did.
    assert rows.loc["b", "status"] == "extra" and rows.loc["d", "status"] == "early"
    assert not c["passed"] and c["alive"]["max_abs_diff"] == 2  # b and d, from 20 s to 30 s


def test_pods_after_the_end_of_the_run_are_dropped_with_their_reason(tmp_path):
    result = simulator.run(_scenario(tmp_path, duration="5m"))
    c = _check(result)
    assert c["pods"] == {
        "read": 6,
        "replayed": 5,
        "dropped": 1,
        "dropped_by_reason": {"arrives after the end of the run": 1},
    }
    assert (
        result.replay.set_index("pod").loc["late-1", "reason"] == "arrives after the end of the run"
    )


def test_a_cluster_too_small_fails_the_check_and_strict_exits_1(tmp_path):
    pools = [
        {
            "name": "user",
            "count": 1,
            "max_pods": 30,
            "node_subnet": "nodes",
            "system_pods_per_node": 28,
        }
    ]
    path = _scenario(tmp_path, pools=pools)
    result = simulator.run(path)
    c = _check(result)
    # 2 slots: web-3, batch-1 and batch-2 wait (web-3 until web-1's slot is free).
    assert not c["passed"] and c["alive"]["max_abs_diff"] == 3
    assert c["pending_while_running_in_trace"]["pods"] == 3
    assert c["status"]["pending"] + c["status"]["late"] == 3
    got = CliRunner().invoke(cli, ["run", str(path), "-o", str(tmp_path / "o"), "--strict"])
    assert got.exit_code == 1
    assert "replay check failed: trace: alive pods differ from the trace's by up to 3" in got.output
    relaxed = simulator.run(
        _scenario(tmp_path, pools=pools, workload={"tolerance": {"alive": 3, "lag": "10m"}})
    )
    assert _check(relaxed)["failures"] == [
        # web-3's 275 s lag is within 10 minutes; the two batch pods never ran.
        "2 pods waited for a node in the replay while they ran in the trace"
    ]


NODES = """name,created,deleted,node
a,0,100,aks-user-12345678-vmss000000
b,0,,aks-user-12345678-vmss000002
c,10,,aks-user-12345678-vmss000000
d,20,,aks-gpu-12345678-vmss000000
e,20,,node-7
f,30,,
"""


def test_pods_run_on_the_nodes_the_trace_names(tmp_path):
    pools = [
        {"name": "user", "count": 3, "max_pods": 30, "node_subnet": "nodes"},
        {"name": "gpu", "count": 2, "max_pods": 30, "node_subnet": "nodes"},
    ]
    result = simulator.run(
        _scenario(
            tmp_path, NODES, pools=pools, workload={"placement": {"node_list": {"node-7": "gpu"}}}
        )
    )
    c = _check(result)
    assert c["placement"] == {"pinned": 5, "bound": 5, "on_their_node": 5, "agreement": 1.0}
    rows = result.replay.set_index("pod")
    # The pool's k-th named node is its k-th node at t = 0.
    assert (
        rows.loc["a", "replay_node"] == rows.loc["c", "replay_node"] != rows.loc["b", "replay_node"]
    )
    assert rows.loc["a", "replay_node"].endswith("vmss000000")
    assert rows.loc["b", "replay_node"].endswith("vmss000001")
    assert rows.loc["d", "replay_node"] != rows.loc["e", "replay_node"]
    assert set(rows.loc[["d", "e"], "node_pool"]) == {"gpu"}
    assert rows.loc["f", "node_pool"] in ("user", "gpu")  # no node: the scheduler's choice
    assert c["passed"]


def test_placement_refusals_name_the_row_and_the_fix(tmp_path):
    with pytest.raises(simulator.ScenarioError) as err:
        simulator.load_scenario(_scenario(tmp_path, NODES))
    assert str(err.value) == (
        f"{tmp_path / 'scenario.yaml'}: workloads[trace].source: trace.csv: row 4: runs in node "
        "pool 'gpu' (from its node's name), which cluster 'aks1' does not have (pools: user); "
        "name the trace's nodes' pools in placement.node_list (got 'aks-gpu-12345678-vmss000000')"
    )
    pools = [
        {"name": "user", "count": 1, "max_pods": 30, "node_subnet": "nodes"},
        {"name": "gpu", "count": 1, "max_pods": 30, "node_subnet": "nodes"},
    ]
    with pytest.raises(
        simulator.ScenarioError,
        match=r"placement.nodes: the trace names 2 nodes in "
        r"node pool 'user', which has 1 at t = 0",
    ):
        simulator.load_scenario(
            _scenario(
                tmp_path,
                NODES,
                pools=pools,
                workload={"placement": {"node_list": {"node-7": "gpu"}}},
            )
        )
    scheduled = simulator.run(
        _scenario(
            tmp_path,
            NODES,
            pools=pools,
            workload={"placement": {"nodes": "scheduler", "node_list": {"node-7": "gpu"}}},
        )
    )
    assert _check(scheduled)["placement"] is None and _check(scheduled)["passed"]


GROUPS = """name,created,deleted,group,gpu
t-1,0,,train,2
t-2,0,,train,2
t-3,0,,train,2
w-1,0,,web,
w-2,0,,web,
w-3,0,,web,
"""


def test_groups_pools_gpus_and_the_per_node_cap(tmp_path):
    pools = [
        {"name": "cpu", "count": 2, "max_pods": 30, "node_subnet": "nodes"},
        {
            "name": "gpu",
            "count": 2,
            "max_pods": 30,
            "node_subnet": "nodes",
            "allocatable": {"cpu": 32, "memory": "128Gi", "gpu": 4},
        },
    ]
    placement = {"groups": {"train": ["gpu"], "web": ["cpu"]}, "max_per_node": 1}
    result = simulator.run(
        _scenario(tmp_path, GROUPS, pools=pools, workload={"placement": placement})
    )
    rows = result.replay.set_index("pod")
    # One pod of a group per node: two of each run, the third of each waits.
    assert result.summary["pods"]["pending_at_end"] == 2
    bound = rows[rows["replay_node"] != ""]
    assert bound["replay_node"].is_unique and len(bound) == 4
    assert set(bound.loc[bound["group"] == "train", "node_pool"]) == {"gpu"}
    assert set(bound.loc[bound["group"] == "web", "node_pool"]) == {"cpu"}
    assert set(rows.loc[rows["replay_node"] == "", "node_pool"]) == {"gpu", "cpu"}
    assert not _check(result)["passed"]


def test_an_evicted_pod_is_replaced_until_its_trace_deletion(tmp_path):
    path = _scenario(tmp_path)
    doc = yaml.safe_load(path.read_text())
    doc["timeline"] = [
        {"at": "200s", "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 1}}
    ]
    path.write_text(yaml.safe_dump(doc))
    result = simulator.run(path)
    c = _check(result)
    evicted = result.pods[result.pods["pod"].str.contains("~")]
    assert c["evictions"] == len(evicted) > 0
    assert c["alive"]["max_abs_diff"] == 0  # the replacement binds at once on the other node


def test_the_workloads_requests_fill_in_what_the_trace_does_not_give(tmp_path):
    trace = "name,created,cpu\na,0,\nb,0,2\n"
    pools = [
        {
            "name": "user",
            "count": 1,
            "max_pods": 30,
            "node_subnet": "nodes",
            "allocatable": {"cpu": 2.5, "memory": "8Gi"},
        }
    ]
    result = simulator.run(
        _scenario(tmp_path, trace, pools=pools, workload={"requests": {"cpu": "1"}})
    )
    # a: 1 core (the workload's), b: 2 (its own): 3 > 2.5, so one waits.
    assert result.summary["pods"]["pending_at_end"] == 1


def test_a_malformed_trace_is_one_line_and_exit_2(tmp_path):
    path = _scenario(tmp_path, "name,created\nweb-1,soon\n")
    got = CliRunner().invoke(cli, ["validate", str(path)])
    assert got.exit_code == 2
    assert got.output.strip() == (
        f"error: {path}: workloads[trace].source: trace.csv: row 1 (line 2), column 'created': not "
        "a time: seconds or an ISO 8601 timestamp (got 'soon')"
    )


@pytest.mark.parametrize(
    ("workload", "message"),
    [
        (
            {"kind": "deployment", "source": {"format": "pod-csv", "file": "trace.csv"}},
            r"workloads\[x\]\.source: applies to kind trace, not deployment",
        ),
        (
            {"source": {"format": "simkube", "file": "trace.csv", "columns": {"name": "x"}}},
            r"workloads\[trace\]\.source\.columns: applies to the tabular formats",
        ),
        (
            {"source": {"format": "pod-csv", "file": "trace.csv", "columns": {"nmae": "x"}}},
            r"workloads\[trace\]\.source\.columns\.nmae: unknown key; did you mean 'name'\?",
        ),
        (
            {"source": {"format": "csv", "file": "trace.csv"}},
            r"workloads\[trace\]\.source\.format: must be 'pod-csv', 'pod-parquet'",
        ),
        (
            {"source": {"format": "pod-csv", "file": "../trace.csv"}},
            r"workloads\[trace\]\.source\.file: must be a path inside the scenario's folder",
        ),
        (
            {
                "source": {
                    "format": "pod-csv",
                    "file": "trace.csv",
                    "window": {"start": 50, "end": 10},
                }
            },
            r"workloads\[trace\]\.source\.window\.end: must be after the window's start \(50s\)",
        ),
    ],
)
def test_trace_keys_are_checked(tmp_path, workload, message):
    path = _scenario(tmp_path)
    doc = yaml.safe_load(path.read_text())
    if "kind" in workload:
        doc["workloads"][0] = {"name": "x", "cluster": "aks1", **workload}
    else:
        doc["workloads"][0]["source"] = workload["source"]
    with pytest.raises(simulator.ScenarioError, match=message):
        simulator.load_scenario(doc, base=tmp_path)


def test_the_resolved_scenario_spells_out_the_trace_keys(tmp_path):
    resolved = simulator.load_scenario(_scenario(tmp_path)).to_document()
    w = resolved["workloads"][0]
    assert w["source"]["window"] == {"start": "0s", "end": None}
    assert w["placement"]["nodes"] == "trace" and w["tolerance"] == {"alive": 0, "lag": "0s"}
    again = simulator.load_scenario(resolved, base=tmp_path)
    assert again.to_document() == resolved


def test_replay_csv_reads_back_whatever_the_names(tmp_path):
    trace = 'name,created,deleted\n"odd,name",0,10\n"quote""d",5,\nplain,1,2\n'
    out = tmp_path / "out"
    simulator.run(_scenario(tmp_path, trace)).save(out)
    frame = pd.read_csv(out / "replay.csv", keep_default_na=False)
    assert list(frame["pod"]) == ["odd,name", "plain", 'quote"d']
