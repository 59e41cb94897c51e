"""Static block allocation: whole /28s per node for its lifetime, with exact numbers."""

from __future__ import annotations

from typing import Any

import pytest

import simulator
from simulator import ScenarioError, load_scenario
from simulator.core.modes import static_blocks
from simulator.model.invariants import check, check_drained
from simulator.model.world import World


def _doc(pools: list[dict[str, Any]], *, pod_cidr: str = "10.2.0.0/24", **extra: Any) -> dict:
    return {
        "name": "static",
        "duration": "5m",
        "sample_every": "30s",
        "network": {
            "vnets": [
                {
                    "name": "vnet1",
                    "address_space": ["10.0.0.0/8"],
                    "subnets": [
                        {"name": "nodes", "cidr": "10.1.0.0/24"},
                        {"name": "pods", "cidr": pod_cidr},
                    ],
                }
            ]
        },
        "clusters": [
            {
                "name": "aks1",
                "cni": "static-block",
                "pod_subnet": "pods",
                "node_pools": [{"node_subnet": "nodes", **p} for p in pools],
                **extra,
            }
        ],
    }


def test_the_docs_table_blocks_per_node():
    # concepts-network-azure-cni-pod-subnet: 30 -> 2 blocks (1 wasted), 31 -> 2, 32 -> 3.
    assert [static_blocks(m) for m in (30, 31, 32)] == [2, 2, 3]
    assert [static_blocks(m) for m in (110, 250)] == [7, 16]


def test_each_node_holds_its_blocks_and_pods_get_addresses_at_once():
    doc = _doc(
        [
            {"name": "a", "count": 1, "max_pods": 30},
            {"name": "b", "count": 1, "max_pods": 31},
            {"name": "c", "count": 1, "max_pods": 32},
        ]
    )
    doc["workloads"] = [{"name": "web", "cluster": "aks1", "node_pool": "c", "replicas": 32}]
    world = World(load_scenario(doc), 0)
    world.run(check=check)
    result = simulator.run(doc)
    holders = result.summary["subnets"]["pods"]["holders"]
    assert holders == {"aks1/a": 32, "aks1/b": 32, "aks1/c": 48}
    assert result.summary["subnets"]["pods"]["peak_allocated"] == 112
    assert result.summary["subnets"]["nodes"]["peak_allocated"] == 3
    assert result.summary["pods"]["ip_wait_s"]["max"] == 0.0  # no batches, no waiting
    # Addresses come from the node's blocks: the first /28 of the subnet is Azure's.
    ips = sorted(result.pods["ip"], key=lambda a: tuple(map(int, a.split("."))))
    assert ips[0] == "10.2.0.81" and ips[-1] == "10.2.0.112"  # pool c: .80-.127, .80 primary
    # The VNet's private-address count: 3 node IPs + 7 blocks, a block counting as one.
    vnet = result.summary["vnets"]["vnet1"]
    assert (vnet["peak_addresses"], vnet["peak_mappings"]) == (115, 10)
    # Max pods 30 and 32 are not 16·N − 1: a note each, no error.
    notes = result.summary["notes"]
    assert len(notes) == 2 and "leaves 1 of their addresses unused" in notes[0]
    assert "leaves 15 of their addresses unused; max pods 47" in notes[1]
    blocks = result.subnets[result.subnets["subnet"] == "pods"]["blocks"]
    assert set(blocks) == {7}


def test_a_scale_set_without_whole_blocks_for_its_node_creates_none():
    # A /26 pod subnet has 2 whole /28s (its first and last hold Azure's reserved ones).
    doc = _doc([{"name": "a", "count": 1, "max_pods": 31}], pod_cidr="10.2.0.0/26")
    doc["preflight_checks"] = False
    doc["timeline"] = [
        {"at": "1m", "scale_node_pool": {"cluster": "aks1", "node_pool": "a", "count": 2}}
    ]
    result = simulator.run(doc)
    assert result.summary["nodes"]["created"] == 1
    (failed,) = result.events[result.events["kind"] == "scale_up_failed"]["message"]
    assert failed == (
        "SubnetIsFull: scale: failed to increase capacity of the scale set to 2: pod subnet "
        "pods with address prefix 10.2.0.0/26 does not have enough capacity for 2 /28 blocks "
        "(0 free); no VM was created"
    )
    assert result.summary["subnets"]["nodes"]["final_allocated"] == 1  # no node IP taken


def test_a_fragmented_subnet_runs_out_of_blocks_while_addresses_remain():
    """A /25 shared by static block nodes and another cluster's node IPs: each time a
    static node goes, a new node IP lands in its freed /28. Once all six are gone no
    whole block is left, and the scale set cannot create a new static node with 90 of
    123 addresses free."""
    doc = _doc([{"name": "s", "count": 6, "max_pods": 15}], pod_cidr="10.2.0.0/25")
    doc["clusters"].append(
        {
            "name": "other",
            "cni": "kubenet",
            "node_pools": [{"name": "k", "count": 27, "max_pods": 30, "node_subnet": "pods"}],
        }
    )

    def scale(at: int, cluster: str, pool: str, count: int) -> dict[str, Any]:
        act = {"cluster": cluster, "node_pool": pool, "count": count}
        return {"at": at, "scale_node_pool": act}

    doc["timeline"] = [
        step
        for i in range(6)
        for step in (
            scale(10 + 20 * i, "aks1", "s", 5 - i),
            scale(20 + 20 * i, "other", "k", 28 + i),
        )
    ] + [scale(200, "aks1", "s", 1)]
    # Off: AKS's check would count both pools on the /25 and refuse the kubenet scale-ups.
    doc["preflight_checks"] = False
    world = World(load_scenario(doc), 0)
    world.run(check=check)
    pods = world.subnets["pods"]
    # The 6 blocks (.16-.111) were taken first; the node IPs filled .4-.15 and .112-.126.
    assert pods.pool.free_blocks() == 0 and pods.pool.free == 90
    assert [n.status for n in world.clusters["aks1"].nodes] == ["deleted"] * 6
    result = simulator.run(doc)
    (failed,) = result.events[result.events["kind"] == "scale_up_failed"]["message"]
    assert failed.endswith(
        "does not have enough capacity for 1 /28 blocks (0 free); no VM was created"
    )


def test_the_edge_blocks_can_be_handed_out_with_fewer_addresses():
    doc = _doc([{"name": "a", "count": 2, "max_pods": 15}], pod_cidr="10.2.0.0/27")
    doc["network"]["static_block_edges"] = True
    world = World(load_scenario(doc), 0)
    world.run(check=check)
    pods = world.subnets["pods"]
    assert pods.allocated == 12 + 15  # .4-.15 and .16-.30
    assert [n.ips.held for n in world.clusters["aks1"].nodes] == [11, 14]


def test_pools_of_one_cluster_mix_dynamic_and_static_block_on_subnets_of_their_own():
    doc = _doc([{"name": "dyn", "count": 2, "max_pods": 30}], pod_cidr="10.2.0.0/24")
    doc["network"]["vnets"][0]["subnets"].append({"name": "blocks", "cidr": "10.3.0.0/24"})
    cluster = doc["clusters"][0]
    cluster["cni"] = "dynamic"
    cluster["node_pools"].append(
        {
            "name": "blk",
            "count": 2,
            "max_pods": 31,
            "node_subnet": "nodes",
            "pod_subnet": "blocks",
            "pod_ip_allocation": "static-block",
        }
    )
    doc["workloads"] = [{"name": "web", "cluster": "aks1", "replicas": 40}]
    doc["timeline"] = [
        {"at": "4m", "scale_node_pool": {"cluster": "aks1", "node_pool": "dyn", "count": 0}},
        {"at": "4m", "scale_node_pool": {"cluster": "aks1", "node_pool": "blk", "count": 0}},
    ]
    scenario = load_scenario(doc)
    assert [p.pod_ip_allocation for p in scenario.clusters[0].node_pools] == [
        "dynamic",
        "static-block",
    ]
    world = World(scenario, 0)
    world.run(check=check)
    check_drained(world)
    result = simulator.run(scenario)
    assert result.summary["subnets"]["blocks"]["peak_allocated"] == 2 * 32
    # Spread: 10 pods a node; a dynamic node asks for 32, capped at max pods 30, + 1.
    assert result.summary["subnets"]["pods"]["peak_allocated"] == 2 * 31
    nnc = result.nnc
    assert set(nnc[nnc["node_pool"] == "blk"]["secondary_ips"]) == {31}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"pod_ip_allocation": "dynamic"},
            "clusters[aks1].node_pools[a].pod_ip_allocation: cni: static-block makes every pool "
            "static-block; to mix allocation modes use cni: dynamic (got 'dynamic')",
        ),
    ],
)
def test_a_static_block_cluster_refuses_a_dynamic_pool(change, message):
    doc = _doc([{"name": "a", "count": 1, **change}])
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert str(info.value) == message


def test_static_nodes_have_nnc_rows_but_no_cns_pool_metrics(tmp_path):
    """A static NC has no pool monitor; whether AKS serves cx_ipam_* for it is not public,
    so export-metrics writes series for the dynamic pool's nodes only."""
    from simulator.results.metrics import load_series

    doc = _doc([{"name": "dyn", "count": 1, "max_pods": 30}], pod_cidr="10.2.0.0/24")
    doc["network"]["vnets"][0]["subnets"].append({"name": "blocks", "cidr": "10.3.0.0/24"})
    doc["clusters"][0]["cni"] = "dynamic"
    doc["clusters"][0]["node_pools"].append(
        {"name": "blk", "count": 1, "max_pods": 31, "node_subnet": "nodes",
         "pod_subnet": "blocks", "pod_ip_allocation": "static-block"}
    )  # fmt: skip
    folder = simulator.run(doc).save(tmp_path / "run")
    nnc = simulator.run(doc).nnc
    assert set(nnc["node_pool"]) == {"dyn", "blk"}
    static = nnc[nnc["node_pool"] == "blk"].iloc[0]
    assert (static["secondary_ips"], static["primary_ips"], static["subnet"]) == (31, 1, "blocks")
    series = load_series(folder)
    assert set(series["node"]) == set(nnc[nnc["node_pool"] == "dyn"]["node"])
