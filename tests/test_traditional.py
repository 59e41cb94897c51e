"""Traditional Azure CNI (reference §2): 1 + max pods node-subnet addresses per node."""

import simulator


def test_three_nodes_at_max_pods_30_hold_93_addresses(scenario_doc):
    result = simulator.run(scenario_doc(cni="traditional", nodes=3, replicas=5))
    node = result.summary["subnets"]["nodesubnet"]
    assert node["peak_allocated"] == 93
    assert node["final_allocated"] == 93
    assert node["final_assigned"] == 5
    # Pods get an address at once: no waiting at all.
    assert result.summary["pods"]["ip_wait_s"]["max"] == 0


def _slash_24_scale_to_9(scenario_doc, preflight):
    doc = scenario_doc(
        cni="traditional",
        nodes=1,
        node_cidr="10.240.0.0/24",
        timeline=[
            {"at": "1m", "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 9}}
        ],
    )
    doc["preflight_checks"] = preflight
    return simulator.run(doc)


def test_a_slash_24_fits_8_nodes_and_the_9th_fails(scenario_doc):
    # Without AKS's pre-flight check the scale-up creates nodes one by one until full.
    result = _slash_24_scale_to_9(scenario_doc, preflight=False)
    assert result.summary["nodes"]["failed"] == 1
    assert result.summary["nodes"]["created"] == 9
    assert result.summary["subnets"]["nodesubnet"]["final_allocated"] == 8 * 31
    assert result.summary["subnets"]["nodesubnet"]["full_at_s"] == 60.0
    failed = result.events[result.events["kind"] == "node_failed"]
    assert len(failed) == 1
    assert "SubnetIsFull" in failed.iloc[0]["message"]
    assert list(result.nodes["status"]).count("failed") == 1


def test_preflight_refuses_a_scale_up_the_subnet_cannot_hold(scenario_doc):
    # InsufficientSubnetSize: 8 new nodes need 8 × 30 = 240 free; 251 - 31 = 220 are.
    result = _slash_24_scale_to_9(scenario_doc, preflight=True)
    refused = result.events[result.events["kind"] == "preflight_refused"]
    assert refused[["time_s", "node_pool"]].values.tolist() == [[60.0, "user"]]
    message = refused.iloc[0]["message"]
    assert message.startswith("InsufficientSubnetSize: scale-up of 8 node(s)")
    assert "8 × 30 = 240 free addresses in nodesubnet, which has 220: short by 20" in message
    assert result.summary["nodes"]["created"] == 1
    assert not (result.events["kind"] == "node_pool_scaled").any()


def test_preflight_allows_a_scale_up_that_fits(scenario_doc):
    # 1 -> 8 needs 7 × 30 = 210 of the 220 free: allowed; 8 × 31 = 248 end up allocated.
    doc = scenario_doc(
        cni="traditional",
        nodes=1,
        node_cidr="10.240.0.0/24",
        timeline=[
            {"at": "1m", "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 8}}
        ],
    )
    result = simulator.run(doc)
    assert result.summary["nodes"]["created"] == 8
    assert result.summary["subnets"]["nodesubnet"]["final_allocated"] == 248


def test_docs_worked_example_51_nodes_need_1581_addresses_in_a_slash_21(scenario_doc):
    # 50 nodes + 1 surge at max pods 30: (50 + 1) + (50 + 1) * 30 = 1,581 -> a /21.
    fits = simulator.run(
        scenario_doc(cni="traditional", nodes=51, node_cidr="10.240.0.0/21", duration="1m")
    )
    assert fits.summary["subnets"]["nodesubnet"]["peak_allocated"] == 1581
    assert fits.summary["nodes"]["failed"] == 0
    doc = scenario_doc(cni="traditional", nodes=51, node_cidr="10.240.0.0/22", duration="1m")
    refused = simulator.run(doc)
    # AKS refuses to create the pool: 51 × 30 = 1,530 > 1,019 free.
    assert refused.summary["nodes"]["created"] == 0
    assert (refused.events["kind"] == "preflight_refused").sum() == 1
    doc["preflight_checks"] = False
    short = simulator.run(doc)
    assert short.summary["nodes"]["failed"] == 51 - 1019 // 31
    # 50 + 10 nodes for scale-up: 61 + 61 * 30 = 1,891, still a /21.
    scale = simulator.run(
        scenario_doc(cni="traditional", nodes=61, node_cidr="10.240.0.0/21", duration="1m")
    )
    assert scale.summary["subnets"]["nodesubnet"]["peak_allocated"] == 1891
    assert scale.summary["nodes"]["failed"] == 0


def test_deleting_nodes_returns_every_address(scenario_doc):
    doc = scenario_doc(
        cni="traditional",
        nodes=4,
        replicas=40,
        timeline=[
            {"at": "2m", "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 1}},
        ],
    )
    result = simulator.run(doc)
    subnet = result.summary["subnets"]["nodesubnet"]
    assert subnet["peak_allocated"] == 4 * 31
    assert subnet["final_allocated"] == 31
    # The evicted pods come back on the remaining node, up to its 30 slots.
    assert subnet["final_assigned"] == 30
    assert result.summary["pods"]["pending_at_end"] == 10
