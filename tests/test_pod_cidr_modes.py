"""Overlay and kubenet: a node subnet address and a /24 of a private pod CIDR per node,
the pre-flight checks AKS documents for them, and pod CIDR expansion."""

from __future__ import annotations

from typing import Any

import pytest

import simulator
from simulator import ScenarioError, load_scenario
from simulator.core.capacity import calculate, largest_fit
from simulator.model.invariants import check
from simulator.model.world import World


def _doc(
    cni: str,
    pools: list[dict[str, Any]],
    *,
    node_cidr: str = "10.1.0.0/22",
    pod_cidr: str | None = None,
    vnet: str = "10.0.0.0/8",
    **top: Any,
) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": "aks1",
        "cni": cni,
        "node_pools": [{"node_subnet": "nodes", "count": 1, **p} for p in pools],
    }
    if pod_cidr is not None:
        cluster["pod_cidr"] = pod_cidr
    return {
        "name": "cidr",
        "duration": "5m",
        "sample_every": "30s",
        "network": {
            "vnets": [
                {
                    "name": "vnet1",
                    "address_space": [vnet],
                    "subnets": [{"name": "nodes", "cidr": node_cidr}],
                }
            ]
        },
        "clusters": [cluster],
        **top,
    }


def _scale(at: str, count: int, pool: str = "user") -> dict[str, Any]:
    return {"at": at, "scale_node_pool": {"cluster": "aks1", "node_pool": pool, "count": count}}


@pytest.mark.parametrize("cni", ["overlay", "kubenet"])
def test_a_node_takes_one_node_address_and_a_slash_24_and_pods_never_wait(cni):
    doc = _doc(cni, [{"name": "user", "count": 3}])
    doc["workloads"] = [{"name": "web", "cluster": "aks1", "replicas": 90}]
    world = World(load_scenario(doc), 0)
    world.run(check=check)
    result = simulator.run(doc)
    summary = result.summary
    assert summary["subnets"]["nodes"]["peak_allocated"] == 3
    (cidr,) = summary["pod_cidrs"].values()
    assert cidr["cidr"] == "10.244.0.0/16" and cidr["blocks"] == 256  # the default
    assert (cidr["peak_blocks"], cidr["peak_allocated"], cidr["peak_assigned"]) == (3, 768, 90)
    # Pods hold no VNet address: the VNet holds the 3 node addresses only.
    assert summary["vnet_addresses"] == {"peak": 3, "final": 3}
    assert summary["pods"]["ip_wait_s"]["max"] == 0.0
    assert "10.244.0.2" in set(result.pods["ip"])
    rows = result.subnets[result.subnets["space"] == "pod_cidr"]
    assert set(rows["subnet"]) == {"pod_cidr:aks1"}
    assert list(rows[["capacity", "allocated", "blocks"]].iloc[-1]) == [65536, 768, 3]


def test_overlay_slash_16_holds_256_nodes():
    """The default /16 has 256 /24s: 256 nodes fit, a scale set asked for a 257th creates
    none (pre-flight off); with the check on, a scale to 256 is already refused (256 + 1
    surge /24s > 256)."""
    doc = _doc("overlay", [{"name": "user", "count": 0, "max_pods": 30}], preflight_checks=False)
    doc["timeline"] = [_scale("10s", 256), _scale("20s", 257)]
    result = simulator.run(doc)
    assert result.summary["nodes"]["created"] == 256
    assert result.summary["pod_cidrs"]["pod_cidr:aks1"]["peak_blocks"] == 256
    (failed,) = result.events[result.events["kind"] == "scale_up_failed"]["message"]
    assert failed == (
        "SubnetIsFull: scale: failed to increase capacity of the scale set to 257: pod CIDR "
        "pod_cidr:aks1 with address prefix 10.244.0.0/16 does not have enough capacity for 1 "
        "/24 blocks (0 free); no VM was created"
    )
    assert largest_fit("overlay", 22, 250, 30, pod_cidr_prefix=16)[:2] == (256, 7680)
    doc["preflight_checks"] = True
    doc["timeline"] = [_scale("10s", 255), _scale("20s", 256)]
    result = simulator.run(doc)
    assert result.summary["nodes"]["created"] == 255
    (refused,) = result.events[result.events["kind"] == "preflight_refused"]["message"]
    assert refused == (
        "InsufficientSubnetSize: scale-up of 1 node(s): Pre-allocated IPs 65792 exceeds IPs "
        "available 65536 in pod CIDR 10.244.0.0/16 (user 256 + surge 1 = 257 × 256)"
    )


def _aks_construction() -> dict[str, Any]:
    """Azure/AKS-Construction#701's template defaults: an autoscaled system pool (count 1,
    max 3) and a user pool of 1, pod CIDR 10.240.100.0/22 in VNet 10.240.0.0/16."""
    return _doc(
        "overlay",
        [
            {"name": "system", "count": 1, "max_pods": 30, "autoscaler": {"min": 1, "max": 3}},
            {"name": "user", "count": 1, "max_pods": 30},
        ],
        node_cidr="10.240.0.0/22",
        pod_cidr="10.240.100.0/22",
        vnet="10.240.0.0/16",
    )


def test_overlay_preflight_counts_max_counts_and_a_surge_slash_24_as_aks_construction_701():
    result = simulator.run(_aks_construction())
    assert result.summary["nodes"]["created"] == 0
    refused = list(result.events[result.events["kind"] == "preflight_refused"]["message"])
    assert refused[0] == (
        "InsufficientSubnetSize: create of 1 node(s): Pre-allocated IPs 1280 exceeds IPs "
        "available 1024 in pod CIDR 10.240.100.0/22 (system 3 (max count) + user 1 + surge 1 "
        "= 5 × 256)"
    )
    per_pool = _aks_construction()
    per_pool["preflight_surge"] = "per_pool"
    refused = simulator.run(per_pool).events.query("kind == 'preflight_refused'")["message"]
    assert "Pre-allocated IPs 1536 exceeds IPs available 1024" in refused.iloc[0]


def test_a_pod_cidr_inside_the_vnet_space_is_refused_when_the_whole_space_counts():
    # AKS-Construction#403: "NetworkProfile CIDR ... overlaps with reserved VNET CIDR".
    doc = _aks_construction()
    doc["network"]["pod_cidr_overlap"] = "address_space"
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert str(info.value) == (
        "clusters[aks1].pod_cidr: overlaps the address space 10.240.0.0/16 of the cluster's VNet "
        "'vnet1'; pod IPs must not be VNet addresses (got '10.240.100.0/22')"
    )


def test_preflight_of_kubenet_and_overlay_node_subnets_counts_one_address_per_node():
    # A /28 node subnet: 11 usable addresses; 12 nodes want 12.
    for cni in ("kubenet", "overlay"):
        doc = _doc(cni, [{"name": "user", "count": 10, "max_pods": 30}], node_cidr="10.1.0.0/28")
        doc["timeline"] = [_scale("10s", 12)]
        result = simulator.run(doc)
        (refused,) = result.events[result.events["kind"] == "preflight_refused"]["message"]
        assert refused == (
            "InsufficientSubnetSize: scale-up of 2 node(s): Pre-allocated IPs 12 exceeds IPs "
            "available 11 in node subnet nodes (10.1.0.0/28) (user 12 = 12)"
        )


def test_kubenet_docs_sizing_examples():
    """configure-kubenet: a /24 supports 251 nodes and 27,610 pods at 110 max pods; a /27,
    20-25 nodes (2,200-2,750 pods) with room to scale or upgrade; Azure CNI: 8 nodes and
    240 pods on the same /24."""
    assert largest_fit("kubenet", 24, 110, 110)[:2] == (251, 27610)
    assert largest_fit("kubenet", 27, 110, 110)[:2] == (27, 2970)
    for nodes, surge in ((20, 7), (25, 2)):  # 2,200 and 2,750 pods at 110 a node
        (node, cidr) = calculate("kubenet", nodes, 110, surge=surge)
        assert (node.addresses, node.prefix, node.usable) == (27, 27, 27)
        assert (cidr.blocks, cidr.prefix, cidr.usable) == (27, 19, 8192)  # 27 /24s: a /19
    assert largest_fit("traditional", 24, 30, 30)[:2] == (8, 240)
    # Kubenet's limit of 400 nodes binds from a /15 pod CIDR on; Overlay's 5,000 from /11.
    assert largest_fit("kubenet", 20, 110, 110, pod_cidr_prefix=16)[0] == 256
    assert largest_fit("kubenet", 20, 110, 110, pod_cidr_prefix=15) == (
        400,
        44000,
        "400 nodes per cluster",
    )
    assert largest_fit("overlay", 16, 250, 30, pod_cidr_prefix=12)[0] == 4096
    assert largest_fit("overlay", 16, 250, 30, pod_cidr_prefix=11)[0] == 5000


def test_a_slash_24_node_subnet_holds_251_kubenet_nodes_in_the_simulation():
    doc = _doc("kubenet", [{"name": "user", "count": 0}], node_cidr="10.1.0.0/24")
    doc["preflight_checks"] = False
    doc["timeline"] = [_scale("10s", 251), _scale("20s", 252)]
    summary = simulator.run(doc).summary
    assert (summary["nodes"]["created"], summary["nodes"]["failed"]) == (251, 0)
    assert summary["subnets"]["nodes"]["peak_allocated"] == 251
    assert summary["operations_refused"] == 1  # the 252nd VM: the scale set refuses it


def test_expand_pod_cidr_widens_an_overlay_range_for_new_nodes():
    doc = _doc("overlay", [{"name": "user", "count": 1, "max_pods": 30}], pod_cidr="10.244.0.0/24")
    doc["preflight_checks"] = False
    doc["timeline"] = [
        _scale("10s", 2),
        {"at": "20s", "expand_pod_cidr": {"cluster": "aks1", "pod_cidr": "10.244.0.0/22"}},
        _scale("30s", 4),
    ]
    world = World(load_scenario(doc), 0)
    world.run(check=check)
    result = simulator.run(doc)
    summary = result.summary["pod_cidrs"]["pod_cidr:aks1"]
    assert (summary["cidr"], summary["blocks"], summary["final_blocks"]) == ("10.244.0.0/22", 4, 4)
    assert summary["expansions"] == [{"at_s": 20.0, "cidr": "10.244.0.0/22"}]
    # The 2nd node, before the expansion: the scale set has no /24 for it and creates none.
    assert result.summary["operations_refused"] == 1
    assert result.summary["nodes"]["created"] == 4
    (expanded,) = result.events[result.events["kind"] == "pod_cidr_expanded"]["message"]
    assert expanded == "10.244.0.0/24 -> 10.244.0.0/22: 4 /24s"
    rows = result.subnets[result.subnets["space"] == "pod_cidr"]
    assert list(rows["capacity"].iloc[[0, -1]]) == [256, 1024]
    assert list(rows["cidr"].iloc[[0, -1]]) == ["10.244.0.0/24", "10.244.0.0/22"]


@pytest.mark.parametrize(
    ("cni", "change", "message"),
    [
        (
            "kubenet",
            {
                "timeline": [
                    {
                        "at": "1m",
                        "expand_pod_cidr": {"cluster": "aks1", "pod_cidr": "10.244.0.0/15"},
                    }
                ]
            },
            "timeline[0].expand_pod_cidr.cluster: cluster 'aks1' uses cni: kubenet, which has a "
            "pod CIDR that cannot change once deployed; AKS expands the pod CIDR of cni: overlay "
            "only (got 'aks1')",
        ),
        (
            "overlay",
            {
                "timeline": [
                    {
                        "at": "1m",
                        "expand_pod_cidr": {"cluster": "aks1", "pod_cidr": "10.245.0.0/16"},
                    }
                ]
            },
            "timeline[0].expand_pod_cidr.pod_cidr: must be a larger range containing the pod "
            "CIDR 10.244.0.0/16: AKS neither shrinks nor moves a pod CIDR (got '10.245.0.0/16')",
        ),
    ],
)
def test_bad_expansions_are_refused(cni, change, message):
    doc = _doc(cni, [{"name": "user"}], **change)
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert str(info.value) == message


def test_flat_rows_of_sweeps_carry_the_pod_cidr_and_the_vnet_addresses():
    from simulator.results.summary import flatten

    row = flatten(simulator.run(_doc("overlay", [{"name": "user", "count": 2}])).summary)
    assert (row["pod_cidr:aks1.blocks"], row["pod_cidr:aks1.peak_blocks"]) == (256, 2)
    assert (row["vnet_addresses.peak"], row["vnet_addresses.final"]) == (2, 2)
