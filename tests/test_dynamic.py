"""Dynamic allocation with pool monitor v1 (reference §4–5), exact numbers."""

import pytest

import simulator

from conftest import make_scenario


def test_three_nodes_with_20_pods_each_request_32(scenario_doc):
    result = simulator.run(scenario_doc(nodes=3, replicas=60))
    last = result.nnc.groupby("node").tail(1)
    assert list(last["requested_ips"]) == [32, 32, 32]
    assert list(last["assigned_ips"]) == [20, 20, 20]
    assert list(last["secondary_ips"]) == [32, 32, 32]
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == 3 * (32 + 1)
    assert result.summary["subnets"]["podsubnet"]["final_assigned"] == 60
    assert result.summary["subnets"]["nodesubnet"]["final_allocated"] == 3


def test_max_pods_30_node_with_25_pods_holds_30_secondaries(scenario_doc):
    result = simulator.run(scenario_doc(nodes=1, max_pods=30, replicas=25))
    last = result.nnc.iloc[-1]
    assert last["requested_ips"] == 30
    assert last["secondary_ips"] == 30
    assert last["assigned_ips"] == 25
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == 31


def test_a_new_node_requests_one_batch_then_grows_batch_by_batch(scenario_doc):
    result = simulator.run(scenario_doc(nodes=1, replicas=36))
    requested = list(dict.fromkeys(result.nnc["requested_ips"]))
    # v1 grows one batch per control-plane round trip: 16, 32, 48.
    assert requested == [16, 32, 48]
    assert result.summary["pods"]["running_at_end"] == 36


def test_first_batch_timeline_is_exact(scenario_doc):
    # Node Ready at 0; NNC fulfilled after 5 s; programmed 1 s later; a pod bound at 0
    # retries its sandbox every 10 s, so it gets an address at 10 s and runs at 12 s.
    result = simulator.run(scenario_doc(nodes=1, replicas=1))
    pod = result.pods.iloc[0]
    assert (pod["scheduled_s"], pod["ip_s"], pod["running_s"]) == (0.0, 10.0, 12.0)
    assert pod["ip_wait_s"] == 10.0
    rows = result.nnc[
        [
            "time_s",
            "requested_ips",
            "secondary_ips",
            "available_ips",
            "pending_programming_ips",
            "nc_status",
        ]
    ].values.tolist()
    assert rows[:3] == [
        [0.0, 16, 0, 0, 0, "Pending"],
        [5.0, 16, 16, 0, 16, "NCUpdateSuccess"],
        [6.0, 16, 16, 16, 0, "NCUpdateSuccess"],
    ]
    node = result.nodes.iloc[0]
    assert node["first_ips_s"] == 6.0
    assert node["status"] == "ready"


def test_scale_down_releases_one_batch_per_tick(scenario_doc):
    doc = scenario_doc(
        nodes=1,
        replicas=60,
        grace=0,
        timeline=[
            {"at": "3m", "scale_workload": {"workload": "web", "replicas": 0}},
        ],
    )
    result = simulator.run(doc)
    after = result.nnc[result.nnc["time_s"] >= 180]
    requested = list(dict.fromkeys(after["requested_ips"]))
    # 60 pods hold 80 (64 - 60 < minFree 8 asked for a 5th batch). With no termination
    # grace the pods' addresses come back after ip_release, at 185 s; the tick at 185 s
    # (after the releases) marks one batch, then one batch per 1 s tick down to 16
    # (16 free < maxFree 24 stops the descent).
    assert result.nnc[result.nnc["time_s"] < 180].iloc[-1]["requested_ips"] == 80
    assert requested == [64, 48, 32, 16]
    changes = after.drop_duplicates("requested_ips")
    assert list(changes["time_s"]) == [185.0, 186.0, 187.0, 188.0]
    # The control plane removes all 64 released addresses in one fulfilment at 190 s.
    removed = after[after["secondary_ips"] == 16]
    assert removed.iloc[0]["time_s"] == 190.0
    final = result.nnc.iloc[-1]
    assert (final["requested_ips"], final["secondary_ips"], final["pending_release_ips"]) == (
        16,
        16,
        0,
    )
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == 17


def test_pod_subnet_too_small_for_the_next_node_leaves_it_stuck(scenario_doc):
    # A /27 has 27 usable addresses: one node takes 1 + 16, the next needs 17 more.
    doc = scenario_doc(nodes=2, pod_cidr="10.241.0.0/27", replicas=20, max_pods=30, duration="5m")
    result = simulator.run(doc)
    assert result.summary["nodes"]["stuck"] == 1
    assert result.summary["nodes"]["first_batch_refused"] == 1
    statuses = sorted(result.nodes["status"])
    assert statuses == ["ready", "stuck"]
    stuck = result.nodes[result.nodes["status"] == "stuck"].iloc[0]["node"]
    waiting = result.pods[(result.pods["node"] == stuck) & (result.pods["state"] == "waiting")]
    assert len(waiting) == 10
    assert result.summary["pods"]["waiting_for_ip_at_end"] >= 10
    assert result.summary["subnets"]["podsubnet"]["full_at_s"] == 5.0
    full = result.events[result.events["kind"] == "subnet_full"]
    assert "NCUpdateSubnetFullError" in full.iloc[0]["message"]
    last = result.nnc[result.nnc["node"] == stuck].iloc[-1]
    assert last["nc_status"] == "NCUpdateSubnetFullError"


def test_a_stuck_node_recovers_when_another_node_goes(scenario_doc):
    doc = scenario_doc(
        nodes=2,
        pod_cidr="10.241.0.0/27",
        replicas=0,
        max_pods=30,
        timeline=[
            {"at": "2m", "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 1}}
        ],
    )
    result = simulator.run(doc)
    # The stuck (newer, still Provisioning-free but empty) node is removed first, or the
    # other one; either way the survivor holds a full first batch at the end.
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == 17
    assert result.summary["nodes"]["alive_at_end"] == 1


def test_stuck_node_gets_its_batch_after_a_node_is_deleted(scenario_doc):
    doc = scenario_doc(nodes=1, pod_cidr="10.241.0.0/27", max_pods=30, duration="10m")
    doc["clusters"][0]["node_pools"].append(
        {"name": "extra", "count": 1, "max_pods": 30, "node_subnet": "nodesubnet"}
    )
    doc["timeline"] = [
        {"at": "3m", "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 0}}
    ]
    result = simulator.run(doc)
    extra = result.nodes[result.nodes["node_pool"] == "extra"].iloc[0]
    # Stuck from 5 s until the user node's addresses come back at 180 s; the retry is
    # queued through the control plane (5 s) and programmed 1 s later.
    assert extra["first_ips_s"] == 186.0
    kinds = list(result.events["kind"])
    assert "subnet_full" in kinds and "nc_recovered" in kinds


def test_system_pods_take_pod_subnet_addresses(scenario_doc):
    result = simulator.run(scenario_doc(nodes=2, system_pods=4, replicas=0))
    assert result.summary["subnets"]["podsubnet"]["final_assigned"] == 8
    assert result.summary["pods"]["created"] == 8


def test_scheduler_spreads_and_respects_max_pods(scenario_doc):
    result = simulator.run(scenario_doc(nodes=3, max_pods=10, replicas=35))
    per_node = result.pods[result.pods["state"] == "running"].groupby("node").size()
    assert sorted(per_node) == [10, 10, 10]
    assert result.summary["pods"]["pending_at_end"] == 5


def test_every_running_pod_has_a_unique_address_in_the_pod_subnet(scenario_doc):
    import ipaddress

    result = simulator.run(scenario_doc(nodes=4, replicas=150, system_pods=2))
    running = result.pods[result.pods["ip"] != ""]
    assert running["ip"].is_unique
    net = ipaddress.IPv4Network("10.241.0.0/16")
    assert all(ipaddress.IPv4Address(ip) in net for ip in running["ip"])


def _pool_to(at, count):
    return {"at": at, "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": count}}


@pytest.mark.parametrize("cni", ["dynamic", "traditional"])
def test_scale_up_and_down_at_the_same_instant_loses_nothing(scenario_doc, cni):
    doc = scenario_doc(cni=cni, nodes=1, replicas=12, timeline=[
        _pool_to("1m", 3), _pool_to("1m", 1), _pool_to("5m", 2), _pool_to("9m", 0),
    ])  # fmt: skip
    result = simulator.run(doc)
    for subnet in result.summary["subnets"].values():
        assert (subnet["final_allocated"], subnet["final_assigned"]) == (0, 0)
    created = result.events[result.events["kind"] == "node_created"]
    deleted = result.events[result.events["kind"] == "node_deleted"]
    assert set(created["node"]) == set(deleted["node"])
    assert result.summary["nodes"]["created"] == 4


def test_sample_grid_has_no_repeated_end():
    doc = make_scenario(nodes=1, duration=21)
    doc["sample_every"] = 0.7
    times = simulator.run(doc).subnets.query("subnet == 'podsubnet'")["time_s"]
    assert times.is_unique and times.iloc[-1] == 21 and len(times) == 31


def test_termination_grace_delays_the_release(scenario_doc):
    # The default grace of 30 s: the same scale-down starts releasing 30 s later.
    doc = scenario_doc(
        nodes=1,
        replicas=60,
        timeline=[{"at": "3m", "scale_workload": {"workload": "web", "replicas": 0}}],
    )
    result = simulator.run(doc)
    after = result.nnc[result.nnc["time_s"] >= 180].drop_duplicates("requested_ips")
    assert list(after["time_s"]) == [215.0, 216.0, 217.0, 218.0]
    pods = result.pods
    assert (pods["deleted_s"] == 180.0).all()


def test_batch_size_recorded_as_clamped_from_the_first_row(scenario_doc):
    # Batch 16 on nodes of max pods 10: CNS clamps the batch to 10, and every nnc.csv
    # row says so, including the rows written before the node agent starts.
    result = simulator.run(scenario_doc(nodes=3, max_pods=10, replicas=6))
    assert set(result.nnc["batch_size"]) == {10}
    assert set(result.nnc["max_ips"]) == {10}
