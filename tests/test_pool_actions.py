"""Node pool add, delete and blue-green replacement (reference §10), each through AKS's
pre-flight check (§2, §12), and their validation.

Default timings: a new node is Ready 3 min after it is created; a drain takes 30 s and
a drained node is deleted 60 s later.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import simulator

from conftest import make_scenario


def _two_subnet_traditional(nodes=3, replicas=60, node_cidr="10.240.0.0/24"):
    doc = make_scenario(
        cni="traditional",
        nodes=nodes,
        max_pods=30,
        replicas=replicas,
        node_cidr=node_cidr,
        duration="20m",
    )
    doc["network"]["vnets"][0]["subnets"].append({"name": "nodes2", "cidr": "10.242.0.0/24"})
    return doc


def _add(pool, at="1m"):
    return {"at": at, "add_node_pool": {"cluster": "aks1", "node_pool": pool}}


def _replace(new, at="1m", old="user"):
    return {"at": at, "replace_node_pool": {"cluster": "aks1", "node_pool": old, "with": new}}


def _events(result, *kinds):
    events = result.events[result.events["kind"].isin(kinds)]
    return events[["time_s", "kind", "node_pool", "message"]].values.tolist()


def test_add_node_pool_creates_its_nodes_after_the_preflight_check():
    doc = _two_subnet_traditional()
    pool = {"name": "big", "count": 2, "max_pods": 50, "node_subnet": "nodes2"}
    doc["timeline"] = [_add(pool)]
    result = simulator.run(doc)
    assert _events(result, "node_pool_added") == [
        [60.0, "node_pool_added", "big", "2 nodes, max pods 50, traditional"]
    ]
    big = result.nodes[result.nodes["node_pool"] == "big"]
    assert big[["created_s", "ready_s", "status"]].values.tolist() == [[60.0, 240.0, "ready"]] * 2
    # Traditional: each node holds 1 + 50 addresses of its new subnet from creation.
    assert result.summary["subnets"]["nodes2"]["final_allocated"] == 2 * 51
    assert result.summary["reach"]["pools"]["aks1/big"]["limited_by"] == "node subnet nodes2"


def test_add_node_pool_refused_by_the_preflight_check_changes_nothing():
    # 7 × 31 = 217 of the /24's 251; with the new pool's 2 nodes at 31: 279 > 251.
    doc = _two_subnet_traditional(nodes=7, replicas=10)
    pool = {"name": "more", "count": 2, "max_pods": 30, "node_subnet": "nodesubnet"}
    doc["timeline"] = [_add(pool)]
    result = simulator.run(doc)
    assert _events(result, "preflight_refused", "node_pool_added") == [
        [
            60.0,
            "preflight_refused",
            "more",
            "InsufficientSubnetSize: node pool add of 2 node(s): Pre-allocated IPs 279 exceeds "
            "IPs available 251 in node subnet nodesubnet (10.240.0.0/24) (user 7 × 31 + more "
            "2 × 31 = 279)",
        ]
    ]
    assert result.summary["nodes"]["created"] == 7


def test_delete_node_pool_drains_its_nodes_and_their_pods_move():
    doc = _two_subnet_traditional(replicas=30)
    doc["clusters"][0]["node_pools"].append(
        {"name": "other", "count": 2, "max_pods": 30, "node_subnet": "nodes2"}
    )
    doc["timeline"] = [{"at": "5m", "delete_node_pool": {"cluster": "aks1", "node_pool": "user"}}]
    result = simulator.run(doc)
    user = result.nodes[result.nodes["node_pool"] == "user"]
    assert set(user["deleted_s"]) == {300.0 + 30 + 60}
    drained = result.events[result.events["kind"] == "node_drained"]
    assert set(drained["time_s"]) == {300.0}
    assert result.summary["subnets"]["nodesubnet"]["final_allocated"] == 0
    running = result.pods[result.pods["state"] == "running"]
    assert len(running) == 30 and set(running["node"].str[:10]) == {"aks-other-"}


def test_replace_node_pool_is_blue_green():
    # The new pool (max pods 50, a subnet of its own) is created at 1 min and Ready at
    # 4 min; then the old nodes are cordoned and drained one by one (30 s each) and
    # deleted together 60 s after the last drain.
    doc = _two_subnet_traditional()
    new = {"name": "user2", "count": 3, "max_pods": 50, "node_subnet": "nodes2"}
    doc["timeline"] = [_replace(new)]
    result = simulator.run(doc)
    kinds = ("node_pool_replace_started", "node_pool_added", "node_pool_replaced")
    assert _events(result, *kinds) == [
        [
            60.0,
            "node_pool_replace_started",
            "user",
            "user -> user2 (3 nodes, max pods 50, traditional)",
        ],
        [60.0, "node_pool_added", "user2", "3 nodes, max pods 50, traditional"],
        [390.0, "node_pool_replaced", "user2", "user deleted, user2 runs its workloads"],
    ]
    drained = result.events[result.events["kind"] == "node_drained"]
    assert drained["time_s"].tolist() == [240.0, 270.0, 300.0]
    old = result.nodes[result.nodes["node_pool"] == "user"]
    assert set(old["deleted_s"]) == {390.0}
    assert result.summary["subnets"]["nodesubnet"]["final_allocated"] == 0
    assert result.summary["subnets"]["nodes2"]["final_allocated"] == 3 * 51
    running = result.pods[result.pods["state"] == "running"]
    assert len(running) == 60 and set(running["node"].str[:10]) == {"aks-user2-"}
    assert result.summary["pods"]["pending_at_end"] == 0


def test_replace_dynamic_with_static_block_in_a_new_pod_subnet():
    # The migration to static block: a new pod subnet (one allocation mode per subnet)
    # and a new pool. Each new node holds ceil(31 / 16) = 2 /28 blocks for its lifetime.
    doc = make_scenario(nodes=2, max_pods=30, replicas=20, duration="20m")
    doc["network"]["vnets"][0]["subnets"].append({"name": "blocks", "cidr": "10.243.0.0/24"})
    new = {
        "name": "static",
        "count": 2,
        "max_pods": 30,
        "node_subnet": "nodesubnet",
        "pod_subnet": "blocks",
        "pod_ip_allocation": "static-block",
    }
    doc["timeline"] = [_replace(new)]
    result = simulator.run(doc)
    assert result.summary["subnets"]["blocks"]["final_allocated"] == 2 * 2 * 16
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == 0
    running = result.pods[result.pods["state"] == "running"]
    assert len(running) == 20 and set(running["node"].str[:11]) == {"aks-static-"}


def test_a_replacement_the_preflight_check_refuses_leaves_the_old_pool():
    # user (5 nodes) and other (2) hold 7 × 31 = 217 of the /24: 34 free. The new pool's
    # 2 nodes fit beside user's alone (62 + 155 <= 251), so the scenario loads, but the
    # pre-flight check finds 34 free addresses for the 60 it needs.
    doc = _two_subnet_traditional(nodes=5, replicas=10)
    doc["clusters"][0]["node_pools"].append(
        {"name": "other", "count": 2, "max_pods": 30, "node_subnet": "nodesubnet"}
    )
    new = {"name": "user2", "count": 2, "max_pods": 30, "node_subnet": "nodesubnet"}
    doc["timeline"] = [_replace(new)]
    result = simulator.run(doc)
    assert _events(result, "node_pool_replace_failed") == [
        [
            60.0,
            "node_pool_replace_failed",
            "user",
            "user stays: the new pool was refused by the pre-flight check",
        ]
    ]
    assert result.summary["nodes"]["alive_at_end"] == 7
    assert not (result.events["kind"] == "node_drained").any()


def test_a_replacement_whose_vms_the_subnet_cannot_hold_stops_at_the_scale_set():
    # The same crowded subnet without the pre-flight check: the scale set creates the
    # new pool's 2 VMs (2 × 31 addresses, 34 free) all or nothing, so none; the old pool
    # stays and says which refusal stopped it.
    doc = _two_subnet_traditional(nodes=5, replicas=10)
    doc["preflight_checks"] = False
    doc["clusters"][0]["node_pools"].append(
        {"name": "other", "count": 2, "max_pods": 30, "node_subnet": "nodesubnet"}
    )
    new = {"name": "user2", "count": 2, "max_pods": 30, "node_subnet": "nodesubnet"}
    doc["timeline"] = [_replace(new)]
    result = simulator.run(doc)
    assert _events(result, "node_pool_replace_failed") == [
        [
            60.0,
            "node_pool_replace_failed",
            "user",
            "user stays: the new pool was refused by the scale set (SubnetIsFull)",
        ]
    ]
    (failed,) = result.events[result.events["kind"] == "scale_up_failed"]["message"]
    assert "does not have enough capacity for 62 IP addresses (34 free)" in failed
    assert result.summary["nodes"]["alive_at_end"] == 7


def test_a_daemonset_of_every_pool_runs_on_an_added_pool():
    doc = _two_subnet_traditional(replicas=0)
    doc["workloads"].append({"name": "agent", "kind": "daemonset", "cluster": "aks1"})
    pool = {"name": "big", "count": 2, "max_pods": 30, "node_subnet": "nodes2"}
    doc["timeline"] = [_add(pool)]
    result = simulator.run(doc)
    agents = result.pods[result.pods["workload"] == "agent"]
    assert len(agents) == 3 + 2


def test_a_workload_may_name_a_pool_the_timeline_adds():
    doc = _two_subnet_traditional(replicas=0)
    doc["workloads"].append({"name": "api", "cluster": "aks1", "node_pool": "big", "replicas": 5})
    pool = {"name": "big", "count": 1, "max_pods": 30, "node_subnet": "nodes2"}
    doc["timeline"] = [_add(pool)]
    result = simulator.run(doc)
    api = result.pods[result.pods["workload"] == "api"]
    assert set(api["scheduled_s"]) == {240.0}  # pending until the pool's node is Ready


def _refusal(doc):
    with pytest.raises(simulator.ScenarioError) as err:
        simulator.load_scenario(doc)
    return str(err.value)


_SCALE = {"at": "2m", "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 1}}


@pytest.mark.parametrize(
    ("timeline", "message"),
    [
        (
            [{"at": "1m", "delete_node_pool": {"cluster": "aks1", "node_pool": "usr"}}],
            "timeline[0].delete_node_pool.node_pool: no node pool in cluster 'aks1' named "
            "'usr'; did you mean 'user'?",
        ),
        (
            [{"at": "1m", "delete_node_pool": {"cluster": "aks1", "node_pool": "user"}}],
            "timeline[0].delete_node_pool.node_pool: is the last node pool of cluster 'aks1', "
            "and a cluster keeps at least one; replace_node_pool swaps it for another "
            "(got 'user')",
        ),
        (
            [_SCALE, _replace({"name": "user2", "node_subnet": "nodes2"})],
            "timeline[0].scale_node_pool.node_pool: node pool 'user' of cluster 'aks1' was "
            "replaced at 1m (timeline[1]) (got 'user')",
        ),
        (
            [_add({"name": "user", "node_subnet": "nodes2"})],
            "timeline[0].add_node_pool.node_pool.name: cluster 'aks1' has a node pool of that "
            "name (in use); a pool name is used once per cluster over the run (got 'user')",
        ),
        (
            [{"at": "1m", "add_node_pool": {"cluster": "aks2", "node_pool": {"name": "x"}}}],
            "timeline[0].add_node_pool.node_pool.node_subnet: is required",
        ),
        (
            [_replace({"name": "user2", "count": 3, "max_pods": 30, "node_subnet": "nodesubnet"})],
            "timeline[0].replace_node_pool.with.node_subnet: 3 traditional node(s) with max "
            "pods 30 hold at least 3 × 31 = 93 addresses of node subnet nodesubnet beside the "
            "93 that pool 'user', which it replaces, holds until the new pool is up; it has "
            "123 (10.240.0.0/25) (got 'nodesubnet')",
        ),
        (
            [_replace({"name": "user2", "node_subnet": "nodes2", "pod_ip_allocation": "dynamic"})],
            "timeline[0].replace_node_pool.with.pod_ip_allocation: applies to pools of a "
            "pod-subnet cluster",
        ),
        (
            [_replace({"name": "user2", "node_subnet": "nodes9"})],
            "timeline[0].replace_node_pool.with.node_subnet: no subnet named 'nodes9'",
        ),
        (
            [
                {
                    "at": "1m",
                    "upgrade_node_pool": {
                        "cluster": "aks1",
                        "node_pool": "user",
                        "max_surge": "0%",
                        "max_unavailable": 0,
                    },
                }
            ],
            "timeline[0].upgrade_node_pool: max_surge and max_unavailable cannot both be 0",
        ),
    ],
)
def test_pool_actions_are_validated(timeline, message):
    # The node subnet is a /25: 123 usable addresses.
    doc = _two_subnet_traditional(node_cidr="10.240.0.0/25")
    doc["timeline"] = copy.deepcopy(timeline)
    assert _refusal(doc).startswith(message)


def test_a_replacement_into_a_pod_subnet_of_another_mode_is_refused():
    doc = make_scenario(nodes=2, max_pods=30, replicas=20)
    new = {
        "name": "static",
        "node_subnet": "nodesubnet",
        "pod_subnet": "podsubnet",
        "pod_ip_allocation": "static-block",
    }
    doc["timeline"] = [_replace(new)]
    assert _refusal(doc) == (
        "timeline[0].replace_node_pool.with.pod_subnet: pod subnet 'podsubnet' serves "
        "dynamic allocation at clusters[aks1].node_pools[user]; a subnet serves one "
        "allocation mode only, so this static-block pool needs a subnet of its own "
        "(got 'podsubnet')"
    )


def test_the_resolved_scenario_keeps_the_added_pools_defaults():
    doc = _two_subnet_traditional()
    doc["timeline"] = [_add({"name": "b", "node_subnet": "nodes2"})]
    scenario = simulator.load_scenario(doc)
    added = scenario.to_document()["timeline"][0]["add_node_pool"]["node_pool"]
    assert (added["max_pods"], added["count"]) == (30, 1)
    again = simulator.load_scenario(scenario.to_document())
    assert again == scenario


def test_an_unknown_cluster_in_a_pool_action_is_refused():
    doc = _two_subnet_traditional()
    doc["timeline"] = [{"at": "1m", "delete_node_pool": {"cluster": "aks2", "node_pool": "user"}}]
    assert _refusal(doc) == (
        "timeline[0].delete_node_pool.cluster: no cluster named 'aks2'; did you mean 'aks1'?"
    )


def test_scenario_blue_green_migration():
    result = simulator.run(
        Path(__file__).resolve().parent.parent / "scenarios/blue-green-migration.yaml"
    )
    subnets = result.summary["subnets"]
    # dyn's 3 nodes and blocks' 3 side by side in the node subnet from 5 to 10.5 min.
    assert (subnets["nodesubnet"]["peak_allocated"], subnets["nodesubnet"]["final_allocated"]) == (
        6,
        3,
    )
    assert subnets["pods-dyn"]["final_allocated"] == 0
    # 3 nodes × 4 /28 blocks, from their creation, through the in-place upgrade.
    assert (
        subnets["pods-blocks"]["peak_allocated"],
        subnets["pods-blocks"]["final_allocated"],
    ) == (192, 192)
    deleted = result.nodes[result.nodes["node_pool"] == "dyn"]["deleted_s"]
    assert set(deleted) == {630.0}
    (upgrade,) = result.summary["upgrades"]
    assert (upgrade["end_s"], upgrade["outcome"]) == (1200.0 + 3 * 210, "complete")
    assert upgrade["peak_allocated"] == {"nodesubnet": 3, "pods-blocks": 192}
    assert result.summary["verdict"] == "PASS"


def test_an_added_autoscaled_pool_is_scaled_until_it_is_deleted():
    # 80 pods need 3 nodes of max pods 30: the autoscaler takes the new pool from 1 to 3
    # as soon as it exists; once deleted, nothing scales it again and its pods wait.
    doc = make_scenario(nodes=1, max_pods=30, replicas=0, duration="30m")
    doc["workloads"].append({"name": "api", "cluster": "aks1", "node_pool": "auto", "replicas": 80})
    pool = {
        "name": "auto",
        "count": 1,
        "max_pods": 30,
        "node_subnet": "nodesubnet",
        "autoscaler": {"min": 1, "max": 5},
    }
    doc["timeline"] = [
        _add(pool),
        {"at": "20m", "delete_node_pool": {"cluster": "aks1", "node_pool": "auto"}},
    ]
    result = simulator.run(doc)
    assert _events(result, "autoscaler_scale_up", "node_pool_deleted") == [
        [60.0, "autoscaler_scale_up", "auto", "1 -> 3 nodes"],
        [1200.0, "node_pool_deleted", "auto", "3 nodes cordoned, drained and deleted"],
    ]
    assert result.summary["nodes"]["alive_at_end"] == 1
    assert result.summary["pods"]["pending_at_end"] == 80
