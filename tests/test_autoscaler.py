"""The cluster autoscaler with AKS's default profile: exact scale-up and scale-down times.

Defaults: a scan every 10 s, scale-down below 50 % utilisation after 10 min unneeded and
not within 10 min of a scale-up; nodes Ready 3 min after they are created (node_provision),
an empty node deleted 60 s after the decision (node_delete), a busy one drained first
(node_drain 30 s + node_delete 60 s).
"""

from pathlib import Path

import simulator

from conftest import make_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _autoscaled(*, lo=1, hi=3, profile=None, **kwargs):
    doc = make_scenario(**kwargs)
    doc["clusters"][0]["node_pools"][0]["autoscaler"] = {"min": lo, "max": hi}
    if profile:
        doc["clusters"][0]["autoscaler_profile"] = profile
    return doc


def _web(at, replicas):
    return {"at": at, "scale_workload": {"workload": "web", "replicas": replicas}}


def _events(result, *kinds):
    events = result.events[result.events["kind"].isin(kinds)]
    return events[["time_s", "kind", "node", "message"]].values.tolist()


def _node(index):
    return f"aks-user-09019107-vmss{index:06d}"


def test_pending_pods_trigger_one_scale_up_at_the_next_scan_instant():
    # One node, max pods 30 with 4 system pods: 26 web pods fit, 44 wait at 55 s. The scan
    # at 60 s packs them onto empty template nodes of 26 slots: ceil(44 / 26) = 2 nodes.
    doc = _autoscaled(cni="traditional", nodes=1, max_pods=30, system_pods=4, duration="15m")
    doc["timeline"] = [_web(55, 70)]
    result = simulator.run(doc)
    assert _events(result, "autoscaler_scale_up", "node_created", "node_ready")[1:] == [
        [0.0, "node_ready", _node(0), "node registered and Ready"],
        [60.0, "autoscaler_scale_up", "", "1 -> 3 nodes"],
        [60.0, "node_created", _node(1), "VM created"],
        [60.0, "node_created", _node(2), "VM created"],
        # node_provision 3 min later.
        [240.0, "node_ready", _node(1), "node registered and Ready"],
        [240.0, "node_ready", _node(2), "node registered and Ready"],
    ]
    scale_up = result.events[result.events["kind"] == "autoscaler_scale_up"].iloc[0]
    assert (scale_up["cluster"], scale_up["node_pool"]) == ("aks1", "user")
    # The 44 waited from 55 s until the new nodes were Ready at 240 s; the scans at 70 s,
    # 80 s, ..., 230 s counted the two provisioning nodes as room and added none.
    web = result.pods[result.pods["workload"] == "web"]
    assert sorted(web["scheduled_s"].value_counts().items()) == [(55.0, 26), (240.0, 44)]
    assert result.summary["pods"]["running_at_end"] == 70 + 3 * 4
    assert result.summary["subnets"]["nodesubnet"]["peak_allocated"] == 3 * 31


def test_the_scan_instant_is_the_first_multiple_of_the_interval_at_or_after_the_change():
    for at, scan in ((60, 60.0), (61, 70.0)):
        doc = _autoscaled(cni="traditional", nodes=1, max_pods=30, duration="5m")
        doc["timeline"] = [_web(at, 31)]
        result = simulator.run(doc)
        assert _events(result, "autoscaler_scale_up") == [
            [scan, "autoscaler_scale_up", "", "1 -> 2 nodes"]
        ]


def test_scale_up_never_goes_above_max():
    # 44 pods wait as above, but max 2 allows one more node: 26 of them fit, 18 stay
    # Pending to the end, however many scans look at them.
    doc = _autoscaled(cni="traditional", nodes=1, hi=2, max_pods=30, system_pods=4)
    doc["timeline"] = [_web(55, 70)]
    result = simulator.run(doc)
    assert _events(result, "autoscaler_scale_up") == [
        [60.0, "autoscaler_scale_up", "", "1 -> 2 nodes"]
    ]
    assert result.summary["nodes"]["alive_at_end"] == 2
    assert result.summary["pods"]["pending_at_end"] == 18


def test_resource_requests_size_the_scale_up():
    # Allocatable 4 CPU, pods ask 1 CPU each: 4 per node. 10 pods: 4 fit, 6 wait, which
    # take ceil(6 / 4) = 2 new nodes (max pods 30 is not the limit here).
    doc = _autoscaled(cni="traditional", nodes=1, hi=5, max_pods=30, replicas=10)
    doc["clusters"][0]["node_pools"][0]["allocatable"] = {"cpu": 4, "memory": "16Gi"}
    doc["workloads"][0]["requests"] = {"cpu": "1", "memory": "1Gi"}
    result = simulator.run(doc)
    assert _events(result, "autoscaler_scale_up") == [
        [0.0, "autoscaler_scale_up", "", "1 -> 3 nodes"]
    ]
    running = result.pods[result.pods["state"] == "running"].groupby("node").size()
    assert list(running) == [4, 3, 3]


def test_dynamic_nodes_added_by_the_autoscaler_take_a_first_batch():
    # Dynamic CNI, max pods 30, 31 pods at 55 s: one node added at 60 s, Ready at 240 s;
    # its NNC asks for a batch of 16 and the control plane fills it 5 s later: 16
    # secondaries and 1 primary from the pod subnet, 1 address from the node subnet.
    doc = _autoscaled(nodes=1, max_pods=30, duration="5m")
    doc["timeline"] = [_web(55, 31)]
    result = simulator.run(doc)
    new = result.nnc[result.nnc["node"] == _node(1)]
    first = new[new["nc_status"] == "NCUpdateSuccess"].iloc[0]
    assert (first["time_s"], first["requested_ips"], first["secondary_ips"]) == (245.0, 16, 16)
    assert first["primary_ips"] == 1
    assert result.summary["subnets"]["nodesubnet"]["final_allocated"] == 2
    # The first node grew to 30 + 1 for its 30 pods; the new one holds 16 + 1 for 1 pod.
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == 31 + 17


def test_idle_nodes_go_after_ten_minutes_unneeded_but_never_below_min():
    # 70 pods at 55 s: one node full, 40 wait, 2 nodes added at 60 s (Ready 240 s). At 6 min
    # the Deployment shrinks to its 10 oldest pods, all on the first node (10/30 = 33 %).
    # The deleted pods are gone after their 30 s grace and the 5 s release (395 s), so the
    # scan at 400 s finds every node unneeded. 10 min later, at 1000 s, the two empty nodes
    # go (deleted node_delete = 60 s later); the first one stays: the pool is at min 1.
    doc = _autoscaled(cni="traditional", nodes=1, max_pods=30, duration="30m")
    doc["timeline"] = [_web(55, 70), _web("6m", 10)]
    result = simulator.run(doc)
    assert _events(result, "autoscaler_scale_down", "node_drained", "node_deleted") == [
        [1000.0, "autoscaler_scale_down", _node(1), "utilization 0% below 50% for 600s"],
        [1000.0, "autoscaler_scale_down", _node(2), "utilization 0% below 50% for 600s"],
        [1060.0, "node_deleted", _node(1), "node removed from the pool"],
        [1060.0, "node_deleted", _node(2), "node removed from the pool"],
    ]
    nodes = result.nodes.set_index("node")
    assert nodes.loc[_node(0), "status"] == "ready"
    assert result.summary["nodes"]["alive_at_end"] == 1
    assert result.summary["pods"]["running_at_end"] == 10
    assert result.summary["subnets"]["nodesubnet"]["final_allocated"] == 31


def test_a_node_busy_during_the_cooldown_starts_its_unneeded_time_afresh():
    # Two idle nodes at t = 0 are unneeded from the first scan. 70 pods at 55 s fill both
    # (100 %) and add a third node at 60 s, which starts the 10 min cooldown. At 6 min the
    # Deployment keeps 10 pods, 5 on each first node (spread). Their unneeded time runs
    # from the scan at 400 s, not from t = 0: nothing goes when the cooldown ends at 660 s.
    doc = _autoscaled(cni="traditional", nodes=2, max_pods=30, duration="30m")
    doc["timeline"] = [_web(55, 70), _web("6m", 10)]
    result = simulator.run(doc)
    downs = _events(result, "autoscaler_scale_down")
    # At 1000 s the empty node goes first, then one busy node (drained: 5 pods move to
    # the last one); min 1 keeps the last.
    assert [row[:3] for row in downs] == [
        [1000.0, "autoscaler_scale_down", _node(2)],
        [1000.0, "autoscaler_scale_down", _node(0)],
    ]
    assert downs[1][3] == "utilization 17% below 50% for 600s"
    deleted = result.nodes.set_index("node")["deleted_s"]
    assert (deleted[_node(2)], deleted[_node(0)]) == (1060.0, 1090.0)
    evicted = result.pods[result.pods["state"] == "evicted"]
    assert list(evicted["node"]) == [_node(0)] * 5
    running = result.pods[result.pods["state"] == "running"]
    assert list(running["node"].unique()) == [_node(1)] and len(running) == 10


def test_no_scale_down_within_the_delay_after_a_scale_up():
    # Unneeded time shortened to 1 min: the two nodes added at 60 s are Ready and empty at
    # 240 s (the Deployment shrank at 2 min), so unneeded from 240 s and due at 300 s. The
    # scale-down delay after add (10 min) holds them until 660 s; with no delay they go
    # at 300 s.
    for delay, at in (("10m", 660.0), ("0s", 300.0)):
        profile = {"scale_down_unneeded_time": "1m", "scale_down_delay_after_add": delay}
        doc = _autoscaled(cni="traditional", nodes=1, max_pods=30, profile=profile, duration="15m")
        doc["timeline"] = [_web(55, 70), _web("2m", 10)]
        result = simulator.run(doc)
        downs = _events(result, "autoscaler_scale_down")
        assert [row[:3] for row in downs] == [
            [at, "autoscaler_scale_down", _node(1)],
            [at, "autoscaler_scale_down", _node(2)],
        ]
        assert downs[0][3] == "utilization 0% below 50% for 60s"


def test_a_node_whose_pods_cannot_move_elsewhere_stays():
    # Threshold 70 %: two nodes with 20 pods each (67 %) are both underused, but neither's
    # 20 pods fit in the other's 10 free slots, so neither is unneeded. At 5 min the
    # Deployment shrinks to 30 (15 each): 15 fit in 15 free slots. The pods are gone at
    # 335 s, the scan at 340 s starts the clock, at 940 s the first node is drained and
    # deleted 30 + 60 s later; its 15 pods run on the other node, now full.
    profile = {"scale_down_utilization_threshold": 0.7}
    doc = _autoscaled(cni="traditional", nodes=2, hi=2, max_pods=30, replicas=40, profile=profile)
    doc["duration"] = "30m"
    still = simulator.run(doc)
    assert _events(still, "autoscaler_scale_down") == []
    assert still.summary["nodes"]["alive_at_end"] == 2
    doc["timeline"] = [_web("5m", 30)]
    result = simulator.run(doc)
    assert _events(result, "autoscaler_scale_down", "node_drained", "node_deleted") == [
        [940.0, "autoscaler_scale_down", _node(0), "utilization 50% below 70% for 600s"],
        [940.0, "node_drained", _node(0), "cordoned and drained"],
        [1030.0, "node_deleted", _node(0), "node removed from the pool"],
    ]
    running = result.pods[result.pods["state"] == "running"]
    assert list(running["node"].unique()) == [_node(1)] and len(running) == 30


def test_blind_spot_pods_waiting_for_an_ip_trigger_no_scale_up():
    # A /27 pod subnet: 27 usable. The node takes 1 + 16; 20 pods are bound to it (room
    # for 30), 16 get addresses, and the request for 30 secondaries (14 more) is refused
    # at 15 s: only 10 are free. The 4 other pods wait for an IP on a Ready node, which the
    # autoscaler does not see: it stays at 1 node of at most 5.
    doc = _autoscaled(nodes=1, hi=5, max_pods=30, pod_cidr="10.241.0.0/27", replicas=20)
    result = simulator.run(doc)
    assert _events(result, "autoscaler_scale_up") == []
    assert result.summary["pods"]["waiting_for_ip_at_end"] == 4
    assert result.summary["pods"]["pending_at_end"] == 0
    assert result.summary["nodes"]["alive_at_end"] == 1
    assert result.summary["subnets"]["podsubnet"]["full_at_s"] == 15.0


def test_blind_spot_pods_that_fit_nowhere_do_trigger_a_scale_up():
    # The same, with 40 pods from 1 min: 30 fill the node, 10 fit nowhere, so the scan at
    # 60 s adds one node. It is Ready at 240 s but its first batch (17 addresses) is
    # refused at 245 s, 10 free: a stuck node whose 10 pods wait too. None is Pending
    # any more, so no further node comes: 14 + 10 pods wait with 2 nodes of 5.
    doc = _autoscaled(nodes=1, hi=5, max_pods=30, pod_cidr="10.241.0.0/27", replicas=20)
    doc["timeline"] = [_web("1m", 40)]
    result = simulator.run(doc)
    assert _events(result, "autoscaler_scale_up") == [
        [60.0, "autoscaler_scale_up", "", "1 -> 2 nodes"]
    ]
    full = result.events[result.events["kind"] == "subnet_full"]
    assert full[["time_s", "node"]].values.tolist() == [[15.0, _node(0)], [245.0, _node(1)]]
    assert result.summary["nodes"]["stuck"] == 1
    assert result.summary["pods"]["waiting_for_ip_at_end"] == 24
    waiting = result.pods[result.pods["state"] == "waiting"].groupby("node").size()
    assert dict(waiting) == {_node(0): 14, _node(1): 10}


def test_scenario_autoscaler_batch_jobs_grows_to_six_nodes_of_31_addresses():
    result = simulator.run(SCENARIOS / "autoscaler-batch-jobs.yaml")
    ups = result.events[result.events["kind"] == "autoscaler_scale_up"]
    assert list(ups["message"]) == ["2 -> 3 nodes", "3 -> 4 nodes", "4 -> 5 nodes", "5 -> 6 nodes"]
    pod = result.summary["subnets"]["podsubnet"]
    # Six nodes at max pods 30, each with 30 secondaries + 1 primary at the peak; back to
    # min 2 idle nodes of 16 + 1 at the end.
    assert (pod["peak_allocated"], pod["final_allocated"]) == (6 * 31, 2 * 17)
    added = result.nodes[result.nodes["created_s"] > 0]["node"]
    first = result.nnc[result.nnc["node"].isin(added) & (result.nnc["primary_ips"] == 1)]
    first = first.groupby("node").head(1)
    assert list(first["secondary_ips"]) == [16] * 4
    assert result.summary["nodes"]["alive_at_end"] == 2


def test_scenario_autoscaler_blind_spot_leaves_80_pods_without_an_ip():
    result = simulator.run(SCENARIOS / "autoscaler-blind-spot.yaml")
    # 123 usable in the /25, 3 primaries: 120 pods run, 80 of 200 wait on Ready nodes.
    assert result.summary["pods"]["waiting_for_ip_at_end"] == 80
    assert result.summary["nodes"]["alive_at_end"] == 3
    assert not (result.events["kind"] == "autoscaler_scale_up").any()
