"""AKS admission (reference §12): the pre-flight check counts every pool on a space at
its max count, scale sets create VMs all or nothing, the autoscaler backs off."""

from pathlib import Path

import simulator
from simulator.model.world import World
from simulator.scenario.loader import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _traditional(scenario_doc, nodes, max_pods, cidr="10.240.0.0/24"):
    return scenario_doc(cni="traditional", nodes=nodes, max_pods=max_pods, node_cidr=cidr)


def _messages(result, kind):
    return result.events[result.events["kind"] == kind]["message"].tolist()


def test_create_of_10_nodes_at_max_pods_30_in_a_slash_24(scenario_doc):
    # Azure/AKS#456: "Pre-allocated IPs 310 exceeds IPs available in Subnet 251".
    result = simulator.run(_traditional(scenario_doc, 10, 30))
    (message,) = _messages(result, "preflight_refused")
    assert "Pre-allocated IPs 310 exceeds IPs available 251" in message
    assert result.summary["nodes"]["created"] == 0


def test_create_of_3_nodes_at_max_pods_110_in_a_slash_24(scenario_doc):
    # rancher/rancher#20784: "Pre-allocated IPs 333 exceeds IPs available in Subnet 251".
    result = simulator.run(_traditional(scenario_doc, 3, 110))
    (message,) = _messages(result, "preflight_refused")
    assert "Pre-allocated IPs 333 exceeds IPs available 251" in message
    # 8 nodes at max pods 30 fit (8 × 31 = 248), as the docs say of a /24.
    assert not _messages(simulator.run(_traditional(scenario_doc, 8, 30)), "preflight_refused")


def _shared(scenario_doc, timeline):
    """Two traditional clusters on one /24 node subnet: aks1's pool of 4 autoscaled up
    to 6 nodes, aks2's pool of 2."""
    doc = _traditional(scenario_doc, 4, 30)
    doc["clusters"][0]["node_pools"][0]["autoscaler"] = {"min": 4, "max": 6}
    other = {
        "name": "aks2",
        "cni": "traditional",
        "node_pools": [{"name": "apps", "count": 2, "max_pods": 30, "node_subnet": "nodesubnet"}],
    }
    doc["clusters"].append(other)
    doc["timeline"] = timeline
    return doc


def test_a_pool_of_another_cluster_counts_at_its_max_count(scenario_doc):
    # 65 addresses are free and aks2's one more node takes 31 of them; but AKS counts
    # aks1's pool at its max count: 6 × 31 + 3 × 31 = 279 > 251.
    scale = {"at": 60, "scale_node_pool": {"cluster": "aks2", "node_pool": "apps", "count": 3}}
    result = simulator.run(_shared(scenario_doc, [scale]))
    (message,) = _messages(result, "preflight_refused")
    assert message.startswith(
        "InsufficientSubnetSize: scale-up of 1 node(s): Pre-allocated IPs 279 exceeds IPs "
        "available 251 in node subnet nodesubnet (10.240.0.0/24) (aks1/user 6 (max count) × 31"
        " + apps 3 × 31 = 279)"
    )
    assert result.summary["nodes"]["created"] == 6
    # Lowering aks1's max count to 4 first (a bounds change) lets the scale-up pass.
    lower = {
        "at": 30,
        "set_autoscaler": {"cluster": "aks1", "node_pool": "user", "min": 4, "max": 4},
    }
    result = simulator.run(_shared(scenario_doc, [lower, scale]))
    assert not _messages(result, "preflight_refused")
    assert result.summary["nodes"]["created"] == 7


def test_a_bounds_change_is_checked_and_refused_whole(scenario_doc):
    # Raising the max count to 7: 7 × 31 + 2 × 31 = 279 > 251 is refused, the bounds stay.
    raise_max = {
        "at": 30,
        "set_autoscaler": {"cluster": "aks1", "node_pool": "user", "min": 4, "max": 7},
    }
    result = simulator.run(_shared(scenario_doc, [raise_max]))
    (message,) = _messages(result, "preflight_refused")
    assert message.startswith("InsufficientSubnetSize: autoscaler bounds change of 0 node(s)")
    assert "Pre-allocated IPs 279" in message
    assert not _messages(result, "autoscaler_bounds_set")


def test_a_manual_scale_up_the_subnet_cannot_hold_creates_no_vm(scenario_doc):
    # Without the pre-flight check: 2 -> 10 nodes needs 8 × 31 = 248 addresses, 189 free.
    doc = _traditional(scenario_doc, 2, 30)
    doc["preflight_checks"] = False
    doc["timeline"] = [
        {"at": 60, "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 10}}
    ]
    result = simulator.run(doc)
    (message,) = _messages(result, "scale_up_failed")
    assert message == (
        "SubnetIsFull: scale: failed to increase capacity of the scale set to 10: node subnet "
        "nodesubnet with address prefix 10.240.0.0/24 does not have enough capacity for 248 "
        "IP addresses (189 free); no VM was created"
    )
    assert result.summary["nodes"]["created"] == 2 and result.summary["nodes"]["failed"] == 0
    assert not _messages(result, "node_pool_scaled")


def test_the_autoscaler_backs_off_exponentially_and_a_smaller_max_fits():
    result = simulator.run(SCENARIOS / "autoscaler-all-or-nothing.yaml")
    events = result.events
    failed = events[events["kind"] == "scale_up_failed"]["time_s"].tolist()
    assert failed == [120.0, 420.0, 1020.0]  # back-offs of 5, 10 and 20 min
    backoffs = _messages(result, "autoscaler_backoff")
    assert [m.split("for ")[1].split("s,")[0] for m in backoffs] == ["300", "600", "1200"]
    (first, *_) = _messages(result, "not_trigger_scale_up")
    assert first.startswith(
        "NotTriggerScaleUp: pod didn't trigger scale-up: 1 in backoff after failed scale-up "
        "(30 pending pods"
    )
    assert (
        "does not have enough capacity for 30 IP addresses (24 free)"
        in (_messages(result, "scale_up_failed")[0])
    )
    # Max count 29 at 25 min: 24 new nodes, exactly the free addresses.
    assert _messages(result, "autoscaler_scale_up") == ["5 -> 29 nodes"]
    assert result.summary["nodes"]["created"] == 29
    assert result.summary["pods"]["running_at_end"] == 29


def test_a_manual_scale_of_an_autoscaled_pool_is_refused_at_run_time(scenario_doc):
    doc = scenario_doc(nodes=2)
    doc["clusters"][0]["node_pools"][0]["autoscaler"] = {"min": 1, "max": 5}
    world = World(load_scenario(doc), seed=0)
    cluster = world.clusters["aks1"]
    cluster.start()
    assert cluster.scale_pool("user", 4) is False
    (event,) = [e for e in world.recorder.events if e.kind == "scale_refused"]
    assert "the pool has the cluster autoscaler enabled (1..5)" in event.message
    assert len(cluster.live_nodes("user")) == 2


def test_a_dynamic_upgrade_needs_a_primary_and_first_batch_per_surge_node(scenario_doc):
    # AKS CHANGELOG 2024-04-28: dynamic pool upgrades check the pod subnet's free IPs.
    # 3 nodes hold 3 × 17 = 51 of a /26's 59: the surge node's 1 + 16 do not fit.
    doc = scenario_doc(nodes=3, replicas=3, pod_cidr="10.241.0.0/26")
    doc["timeline"] = [
        {"at": 60, "upgrade_node_pool": {"cluster": "aks1", "node_pool": "user", "max_surge": 1}}
    ]
    result = simulator.run(doc)
    (message,) = _messages(result, "preflight_refused")
    assert message == (
        "InsufficientSubnetSize: upgrade surge of 1 node(s) needs 1 × 17 = 17 free addresses "
        "in podsubnet, which has 8: short by 9"
    )
    assert result.summary["upgrades"][0]["outcome"] == "refused by preflight check"


def test_nodes_not_ready_within_max_node_provision_time_fail_the_scale_up(scenario_doc):
    # 40 pods on one node of 30 slots: a scale-up at the first scan, whose node takes
    # 20 min to be Ready; at 15 min (AKS's max-node-provision-time) it counts as failed.
    doc = scenario_doc(nodes=1, max_pods=30, replicas=40, timings={"node_provision": "20m"})
    doc["duration"] = "20m"
    doc["clusters"][0]["node_pools"][0]["autoscaler"] = {"min": 1, "max": 3}
    result = simulator.run(doc)
    events = result.events
    up = events[events["kind"] == "autoscaler_scale_up"]["time_s"].tolist()
    backoff = events[events["kind"] == "autoscaler_backoff"]["time_s"].tolist()
    assert up[0] == 0.0 and backoff == [900.0]
    deleted = events[events["kind"] == "node_deleted"]["time_s"].tolist()
    assert deleted == [900.0]
