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


def test_a_scale_set_that_cannot_hold_every_new_vm_creates_none(scenario_doc):
    # Without AKS's pre-flight check: 8 new VMs need 8 × 31 = 248 addresses, 220 are
    # free, and a scale set creates its VMs all or nothing (reference §12).
    result = _slash_24_scale_to_9(scenario_doc, preflight=False)
    assert result.summary["nodes"]["failed"] == 0
    assert result.summary["nodes"]["created"] == 1
    assert result.summary["subnets"]["nodesubnet"]["final_allocated"] == 31
    failed = result.events[result.events["kind"] == "scale_up_failed"]
    assert failed[["time_s", "node_pool"]].values.tolist() == [[60.0, "user"]]
    assert (
        "does not have enough capacity for 248 IP addresses (220 free)"
        in (failed.iloc[0]["message"])
    )
    assert result.summary["operations_refused"] == 1


def test_preflight_refuses_a_scale_up_the_subnet_cannot_hold(scenario_doc):
    # InsufficientSubnetSize: the pool at its new size, 9 × 31 = 279 > 251.
    result = _slash_24_scale_to_9(scenario_doc, preflight=True)
    refused = result.events[result.events["kind"] == "preflight_refused"]
    assert refused[["time_s", "node_pool"]].values.tolist() == [[60.0, "user"]]
    message = refused.iloc[0]["message"]
    assert message == (
        "InsufficientSubnetSize: scale-up of 8 node(s): Pre-allocated IPs 279 exceeds IPs "
        "available 251 in node subnet nodesubnet (10.240.0.0/24) (user 9 × 31 = 279)"
    )
    assert result.summary["nodes"]["created"] == 1
    assert not (result.events["kind"] == "node_pool_scaled").any()


def test_preflight_allows_a_scale_up_that_fits(scenario_doc):
    # 1 -> 8: 8 × 31 = 248 of the /24's 251: allowed, and the 7 new VMs fit the 220 free.
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
    # AKS refuses to create the pool: 51 × 31 = 1,581 > 1,019.
    assert refused.summary["nodes"]["created"] == 0
    assert (refused.events["kind"] == "preflight_refused").sum() == 1
    doc["preflight_checks"] = False
    short = simulator.run(doc)
    # Without the check the scale set refuses the 51 VMs whole.
    assert short.summary["nodes"]["created"] == 0
    assert (short.events["kind"] == "scale_up_failed").sum() == 1
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


def _addons_on_a_slash_24(scenario_doc, addons, *, nodes=9, replicas=0, preflight=False):
    doc = scenario_doc(cni="traditional", nodes=nodes, node_cidr="10.240.0.0/24",
                       replicas=replicas)  # fmt: skip
    doc["clusters"][0]["node_pools"][0]["host_network_addons"] = addons
    doc["preflight_checks"] = preflight
    return simulator.run(doc)


def test_host_network_addons_leave_their_addresses_out_of_each_node(scenario_doc):
    # AKS CHANGELOG 2022-01-07: no VNet address for hostNetwork daemonset pods. With 4
    # of them a node at max pods 30 holds 1 + 26 = 27 addresses: 9 nodes hold 243 of a
    # /24's 251, where 9 × 31 = 279 would not fit (the create then makes no VM at all).
    result = _addons_on_a_slash_24(scenario_doc, 4)
    assert result.summary["nodes"]["created"] == 9
    assert result.summary["subnets"]["nodesubnet"]["final_allocated"] == 243
    assert set(result.nnc["max_ips"]) == {26}
    plain = _addons_on_a_slash_24(scenario_doc, 0)
    assert plain.summary["nodes"]["created"] == 0
    assert plain.summary["operations_refused"] == 1


def test_pods_beyond_the_reserved_addresses_wait_for_one(scenario_doc):
    # 9 nodes × 27 pods with an address each (spread): 26 of each node's get one, the
    # slot the add-ons were to fill holds a pod that waits.
    result = _addons_on_a_slash_24(scenario_doc, 4, replicas=9 * 27)
    assert result.summary["pods"]["running_at_end"] == 9 * 26
    assert result.summary["pods"]["waiting_for_ip_at_end"] == 9


def test_the_pre_flight_check_still_counts_one_plus_max_pods(scenario_doc):
    # Azure/AKS#456's count (10 nodes at max pods 30: 310) is the resource provider's,
    # whatever the NICs reserve: 9 nodes are 279 > 251.
    result = _addons_on_a_slash_24(scenario_doc, 4, preflight=True)
    (refusal,) = result.events[result.events["kind"] == "preflight_refused"]["message"]
    assert "Pre-allocated IPs 279 exceeds IPs available 251" in refusal
    assert result.summary["nodes"]["created"] == 0
