"""The verdict of a run: its checks, PASS or FAIL with reasons, ``run --check``'s exit
status, and the early stop that ``plan`` uses, which applies the same judge."""

import json
import math

import pytest
import yaml
from click.testing import CliRunner

import simulator
from simulator.cli import cli
from simulator.errors import ScenarioError
from simulator.scenario.checks import Checks, Figures, judge

from conftest import make_scenario


def _write(tmp_path, doc, name="s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_a_pod_subnet_far_too_small_fails_and_says_why():
    # 3 nodes and 60 pods in a /28 (11 usable): no node gets its first batch of 16 + 1.
    result = simulator.run(make_scenario(nodes=3, replicas=60, pod_cidr="10.241.0.0/28"))
    summary = result.summary
    assert summary["verdict"] == "FAIL"
    assert summary["reasons"][0].startswith("60 pods waited longer than 60 s for an address")
    assert "3 nodes failed to get addresses (3 nodes refused a first batch" in summary["reasons"][1]
    assert summary["reasons"][2] == "60 pods left at the end (60 waiting for an address)"
    assert summary["checks"]["max_ip_wait"] == 60.0
    assert list(summary)[:7] == [
        "scenario", "seed", "duration_s", "verdict", "reasons", "stopped_at_s", "checks",
    ]  # fmt: skip


def test_the_same_run_with_room_passes_and_the_limits_come_from_checks():
    doc = make_scenario(nodes=3, replicas=60)
    assert simulator.run(doc).summary["verdict"] == "PASS"
    # Each node's first 16 pods wait 10 s for the first batch (fulfilment, programming,
    # kubelet's retry), its other 4 another 10 s for the second.
    doc["checks"] = {"max_ip_wait": "19s"}
    summary = simulator.run(doc).summary
    assert summary["verdict"] == "FAIL"
    assert summary["reasons"] == [
        "12 pods waited longer than 19 s for an address (the longest 20 s)"
    ]
    doc["checks"] = {"max_ip_wait": "20s"}  # not longer than the limit: passes
    assert simulator.run(doc).summary["verdict"] == "PASS"


def test_pending_pods_count_when_nodes_could_not_get_addresses():
    # Traditional, pre-flight off: the /26 node subnet (59 usable) holds one node of 31;
    # the scale set cannot create the second VM and the pods it would have run stay
    # pending.
    doc = make_scenario(cni="traditional", nodes=1, replicas=50, node_cidr="10.240.0.0/26")
    doc["preflight_checks"] = False
    doc["timeline"] = [
        {"at": "1m", "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 2}}
    ]
    summary = simulator.run(doc).summary
    assert summary["reasons"] == [
        "20 pods left at the end (20 pending: nodes could not get addresses)",
        "1 operation refused by AKS's pre-flight check (InsufficientSubnetSize) or its scale "
        "sets (SubnetIsFull)",
    ]
    doc["checks"] = {"max_operations_refused": 1, "max_pods_left_waiting": None}
    assert simulator.run(doc).summary["verdict"] == "PASS"


def test_judge_reads_only_what_is_known():
    checks = Checks()
    running = Figures(0, 0, 0, 0, 0.0)  # the end's figures are not known while running
    assert judge(running, checks) == []
    refused = Figures(0, 0, 2, 0, 0.0, 0, 0)
    assert judge(refused, checks) == [
        "2 operations refused by AKS's pre-flight check (InsufficientSubnetSize) or its "
        "scale sets (SubnetIsFull)"
    ]
    assert judge(refused, Checks(max_operations_refused=2)) == []
    assert judge(refused, Checks(max_operations_refused=None)) == []


def test_checks_are_validated_like_every_key(tmp_path):
    doc = make_scenario()
    doc["checks"] = {"max_ip_wait": "soon"}
    with pytest.raises(ScenarioError, match=r"checks\.max_ip_wait: must be a duration"):
        simulator.load_scenario(doc)
    doc["checks"] = {"max_nodes_fail": 0}
    with pytest.raises(ScenarioError, match="did you mean 'max_nodes_failed'"):
        simulator.load_scenario(doc)
    done = invoke("run", _write(tmp_path, make_scenario()), "--checks", "max_ip_wai=2m")
    assert done.exit_code == 2
    assert "--checks max_ip_wai: no such check; did you mean 'max_ip_wait'?" in done.output


def test_run_check_exits_1_on_fail_and_0_on_pass(tmp_path):
    good = _write(tmp_path, make_scenario(nodes=2, replicas=20), "good.yaml")
    doc = make_scenario(nodes=2, replicas=20, pod_cidr="10.241.0.0/28")
    doc["name"] = "bad"
    bad = _write(tmp_path, doc, "bad.yaml")
    done = invoke("run", good, "-o", tmp_path / "g", "--check")
    assert done.exit_code == 0, done.output
    assert "verdict: PASS\n  - no pod waited longer than 60 s for an address\n" in done.output
    summary = json.loads((tmp_path / "g" / "summary.json").read_text())
    assert (summary["verdict"], summary["reasons"]) == ("PASS", [])
    done = invoke("run", bad, "-o", tmp_path / "b", "--check")
    assert done.exit_code == 1
    assert "verdict: FAIL\n  - 20 pods waited longer than 60 s" in done.output
    # Without --check a failing design still writes its results and exits 0.
    assert invoke("run", bad, "-o", tmp_path / "b2").exit_code == 0
    # The command line's limits replace the scenario's.
    limits = ["max_ip_wait=null", "max_nodes_failed=2", "max_pods_left_waiting=20"]
    options = [arg for limit in limits for arg in ("--checks", limit)]
    done = invoke("run", bad, "-o", tmp_path / "b3", "--check", *options)
    assert done.exit_code == 0, done.output
    resolved = yaml.safe_load((tmp_path / "b3" / "scenario.resolved.yaml").read_text())
    assert resolved["checks"]["max_nodes_failed"] == 2


def test_run_takes_several_scenarios(tmp_path):
    first = _write(tmp_path, make_scenario(nodes=1, duration="1m"), "a.yaml")
    doc = make_scenario(nodes=1, duration="1m")
    doc["name"] = "other"
    second = _write(tmp_path, doc, "b.yaml")
    done = invoke("run", first, second, "-o", tmp_path / "out")
    assert done.exit_code == 0, done.output
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"test", "other"}
    assert done.output.count("verdict: PASS") == 2
    done = invoke("run", first, first, "-o", tmp_path / "again")
    assert done.exit_code == 2 and "several scenarios are named 'test'" in done.output


# --- stopping a run once it has failed (plan's candidate runs) -------------------------


def _churny(pod_cidr, nodes_later=3):
    doc = make_scenario(nodes=2, replicas=10, pod_cidr=pod_cidr, duration="20m")
    doc["workloads"].append(
        {
            "name": "etl",
            "kind": "job",
            "cluster": "aks1",
            "rate": "6/min",
            "lifetime": {"distribution": "exponential", "mean": "2m"},
        }
    )
    doc["timeline"] = [
        {"at": "5m", "scale_node_pool": {"cluster": "aks1", "node_pool": "user",
                                         "count": nodes_later}},
        {"at": "12m", "scale_workload": {"workload": "web", "replicas": 40}},
    ]  # fmt: skip
    doc["checks"] = {"max_pods_left_waiting": None}  # judged only at the end
    return doc


@pytest.mark.parametrize(
    ("doc", "trip"),
    [
        (_churny("10.241.0.0/22"), None),  # room to spare
        (_churny("10.241.0.0/26", nodes_later=4), "first batch"),  # the 4th node's
        (_churny("10.241.0.0/26", nodes_later=2), "wait"),  # for second batches
    ],
    ids=["passes", "first-batch", "wait"],
)
def test_a_stopped_run_fails_exactly_when_the_whole_run_fails_a_live_check(doc, trip):
    whole = simulator.run(doc)
    stopped = simulator.run(doc, stop_on_fail=True)
    assert stopped.summary["verdict"] == whole.summary["verdict"]
    if trip is None:
        assert whole.summary["verdict"] == "PASS"
        assert stopped.summary == whole.summary
        return
    at = stopped.summary["stopped_at_s"]
    assert at is not None and at < whole.summary["duration_s"]
    # It stopped at the first instant the whole run was failing: a pod past its limit
    # (bound more than 60 s before and still without an address), or a refused node.
    late = whole.pods[whole.pods["ip_wait_s"] > 60]
    first_late = (late["scheduled_s"] + 60).min() if len(late) else math.inf
    full = whole.events[whole.events["kind"] == "subnet_full"]
    first_ips = full["node"].map(whole.nodes.set_index("node")["first_ips_s"]).fillna(math.inf)
    refusals = full[full["time_s"] < first_ips]  # before the node ever had an address
    first_refused = refusals["time_s"].min() if len(refusals) else math.inf
    assert at == pytest.approx(min(first_late, first_refused))
    assert (first_refused < first_late) == (trip == "first batch")
    # Its records end there.
    assert stopped.subnets["time_s"].max() == pytest.approx(at)


def test_plan_style_stop_is_cheap_for_a_long_failing_run():
    # A day of 200 pods waiting for addresses in a /27: stopped after its first minute.
    doc = make_scenario(nodes=2, replicas=200, pod_cidr="10.241.0.0/27", duration="1d")
    result = simulator.run(doc, stop_on_fail=True)
    assert result.summary["verdict"] == "FAIL"
    assert result.summary["stopped_at_s"] < 120
    assert result.summary["reasons"] == [
        "1 node failed to get addresses (1 node refused a first batch of pod addresses)"
    ]
