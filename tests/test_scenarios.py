"""Every scenario shipped in scenarios/ validates and runs, with the story it tells."""

from pathlib import Path

import pytest
import yaml

import simulator

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.yaml"))


def test_there_are_scenarios():
    assert {p.name for p in SCENARIOS} >= {
        "quickstart.yaml",
        "traditional-scale-up.yaml",
        "shared-pod-subnet.yaml",
    }


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_runs(path, tmp_path):
    result = simulator.run(path)
    assert result.summary["pods"]["created"] > 0
    result.save(tmp_path / path.stem)


def test_quickstart_dynamic_never_runs_short():
    summary = simulator.run(SCENARIOS[0].parent / "quickstart.yaml").summary
    pod = summary["subnets"]["podsubnet"]
    assert pod["full_at_s"] is None
    assert summary["nodes"] == {
        "created": 10,
        "ready": 10,
        "failed": 0,
        "stuck": 0,
        "first_batch_refused": 0,
        "alive_at_end": 10,
    }
    # 400 web + 40 system pods on 10 nodes: 44 each -> 64 requested + 1 primary.
    assert pod["peak_assigned"] == 440
    assert pod["peak_allocated"] == 10 * 65


def test_traditional_variant_scale_set_refuses_the_whole_scale_up():
    # 8 new VMs want 8 × 31 = 248 of the 189 free: the scale set creates none.
    summary = simulator.run(SCENARIOS[0].parent / "traditional-scale-up.yaml").summary
    node = summary["subnets"]["nodesubnet"]
    assert node["peak_allocated"] == 2 * 31
    assert (summary["nodes"]["created"], summary["nodes"]["failed"]) == (2, 0)
    assert summary["operations_refused"] == 1
    assert node["full_at_s"] == 300.0


def test_shared_pod_subnet_runs_dry_for_the_second_cluster():
    result = simulator.run(SCENARIOS[0].parent / "shared-pod-subnet.yaml")
    pods = result.summary["subnets"]["pods-shared"]
    events = result.events
    exhausted = events[events["kind"] == "subnet_exhausted"]
    assert exhausted["time_s"].iloc[0] == 320.0  # the first poll after team-a's scale-up
    # Exhaustion mode shrank team-a's pools: every new team-b node got a first batch.
    assert result.summary["nodes"]["first_batch_refused"] == 0
    assert result.summary["nodes"]["stuck"] == 0
    # team-b's 200 pods still run the subnet dry until team-a scales down at 40 min.
    assert pods["full_at_s"] == 1345.0 and pods["peak_allocated"] == 507
    full = events[events["kind"] == "subnet_full"]
    assert set(full["cluster"]) == {"team-b"}
    assert result.summary["pods"]["ip_wait_s"]["max"] > 600
    assert result.summary["pods"]["waiting_for_ip_at_end"] == 0


def test_shared_pod_subnet_without_exhaustion_strands_new_nodes():
    doc = yaml.safe_load((SCENARIOS[0].parent / "shared-pod-subnet.yaml").read_text())
    doc["network"]["exhaustion"] = {"enabled": False}
    result = simulator.run(doc)
    # Four of the five new team-b nodes wait for a first batch until team-a scales down.
    assert result.summary["nodes"]["first_batch_refused"] == 4
    late = result.nodes[result.nodes["first_ips_s"] > 2400]
    assert len(late) == 4 and set(late["cluster"]) == {"team-b"}
    assert result.summary["pods"]["ip_wait_s"]["max"] > 2000
