"""Cross-field scenario rules: each refusal names the exact field path and the rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from simulator import ScenarioError, load_scenario
from simulator.scenario.variants import set_key

Doc = dict[str, Any]
CIDR_PATH = "network.vnets[vnet1].subnets[nodesubnet].cidr"
POOL = "clusters[aks1].node_pools[user]"


def _reject(doc: Doc) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    return info.value


def _vnet(doc: Doc, v: int = 0) -> dict[str, Any]:
    return doc["network"]["vnets"][v]


def _pool(doc: Doc, c: int = 0, p: int = 0) -> dict[str, Any]:
    return doc["clusters"][c]["node_pools"][p]


def _add_vnet(doc: Doc, name: str = "vnet2", subnet: str = "pods2") -> None:
    doc["network"]["vnets"].append(
        {
            "name": name,
            "address_space": ["172.16.0.0/16"],
            "subnets": [{"name": subnet, "cidr": "172.16.0.0/20"}],
        }
    )


def _pools(doc: Doc, counts: list[int]) -> None:
    template = _pool(doc)
    doc["clusters"][0]["node_pools"] = [
        dict(template, name=f"pool{i}", count=n) for i, n in enumerate(counts)
    ]


def _set(doc: Doc, path: str, value: str) -> None:
    """Set the field at a dotted path such as ``clusters[aks1].node_pools[user].node_subnet``
    (as ``--set`` does: the path an error names sets the field it names)."""
    set_key(doc, path, value)


def _scale_pool(
    cluster: str = "aks1", node_pool: str = "user", count: int = 2, at: str = "1m"
) -> list[dict[str, Any]]:
    return [
        {"at": at, "scale_node_pool": {"cluster": cluster, "node_pool": node_pool, "count": count}}
    ]


def _scale_workload(workload: str = "web", at: str = "1m") -> list[dict[str, Any]]:
    return [{"at": at, "scale_workload": {"workload": workload, "replicas": 5}}]


# --- network: CIDRs, sizes, containment, overlaps --------------------------------------


def test_subnet_outside_its_vnet_address_space(scenario_doc):
    err = _reject(scenario_doc(node_cidr="11.0.0.0/16"))
    assert err.path == CIDR_PATH
    assert "outside the address space" in err.message
    assert "'vnet1'" in err.message
    assert err.value == "11.0.0.0/16"


def test_two_subnets_of_a_vnet_overlapping(scenario_doc):
    err = _reject(scenario_doc(node_cidr="10.240.0.0/16", pod_cidr="10.240.128.0/24"))
    assert err.path == "network.vnets[vnet1].subnets[podsubnet].cidr"
    assert "overlaps subnet 'nodesubnet'" in err.message
    assert err.value == "10.240.128.0/24"


def test_two_address_spaces_of_a_vnet_overlapping(scenario_doc):
    doc = scenario_doc()
    _vnet(doc)["address_space"] = ["10.0.0.0/8", "10.1.0.0/16"]
    err = _reject(doc)
    assert err.path == "network.vnets[vnet1].address_space[1]"
    assert "overlaps address space 10.0.0.0/8" in err.message


def test_address_spaces_that_only_touch_are_fine(scenario_doc):
    doc = scenario_doc()
    _vnet(doc)["address_space"] = ["10.0.0.0/9", "10.128.0.0/9"]
    assert load_scenario(doc).network.vnets[0].address_space == ["10.0.0.0/9", "10.128.0.0/9"]


@pytest.mark.parametrize(
    ("address_space", "cidr"),
    [("10.0.0.0/8", "10.240.0.0/30"), ("10.0.0.0/7", "10.0.0.0/7")],
    ids=["slash-30", "slash-7"],
)
def test_subnet_size_must_be_slash_8_to_slash_29(scenario_doc, address_space, cidr):
    doc = scenario_doc(cni="traditional", node_cidr=cidr)
    _vnet(doc)["address_space"] = [address_space]
    err = _reject(doc)
    assert err.path == CIDR_PATH
    assert "size" in err.message
    assert "/8" in err.message and "/29" in err.message
    assert err.value == cidr


@pytest.mark.parametrize("cidr", ["10.240.0.0/29", "10.0.0.0/8"])
def test_subnet_size_limits_are_inclusive(scenario_doc, cidr):
    scenario = load_scenario(scenario_doc(cni="traditional", node_cidr=cidr))
    assert scenario.network.vnets[0].subnets[0].cidr == cidr


@pytest.mark.parametrize(
    ("cidr", "keyword"),
    [
        ("10.240.0.1/16", "host bits"),
        ("fd00::/64", "IPv6"),
        ("10.240.0.0", "prefix length"),
        ("banana", "IPv4 CIDR"),
        ("10.240.0.0/33", "IPv4 CIDR"),
        ("10.240.0/16", "IPv4 CIDR"),
    ],
    ids=["host-bits", "ipv6", "no-prefix", "text", "prefix-33", "three-octets"],
)
def test_malformed_subnet_cidr(scenario_doc, cidr, keyword):
    err = _reject(scenario_doc(node_cidr=cidr))
    assert err.path == CIDR_PATH
    assert keyword in err.message
    assert err.value == cidr


def test_host_bits_message_gives_the_network_address(scenario_doc):
    err = _reject(scenario_doc(node_cidr="10.240.0.1/16"))
    assert "10.240.0.0/16" in err.message


def test_malformed_address_space_cidr(scenario_doc):
    doc = scenario_doc()
    _vnet(doc)["address_space"] = ["10.0.0.1/8"]
    err = _reject(doc)
    assert err.path == "network.vnets[vnet1].address_space[0]"
    assert "host bits" in err.message


# --- pod subnets and CNI ---------------------------------------------------------------


@pytest.mark.parametrize("level", ["cluster", "pool"])
def test_pod_subnet_in_another_vnet_than_the_node_subnet(scenario_doc, level):
    doc = scenario_doc()
    _add_vnet(doc)
    if level == "cluster":
        doc["clusters"][0]["pod_subnet"] = "pods2"
        path = "clusters[aks1].pod_subnet"
    else:
        _pool(doc)["pod_subnet"] = "pods2"
        path = f"{POOL}.pod_subnet"
    err = _reject(doc)
    assert err.path == path
    assert "VNet 'vnet2'" in err.message and "VNet 'vnet1'" in err.message
    assert err.value == "pods2"


@pytest.mark.parametrize(
    ("level", "path"),
    [("cluster", "clusters[aks1].pod_subnet"), ("pool", f"{POOL}.pod_subnet")],
)
def test_pod_subnet_on_a_traditional_cluster(scenario_doc, level, path):
    doc = scenario_doc(cni="traditional")
    target = doc["clusters"][0] if level == "cluster" else _pool(doc)
    target["pod_subnet"] = "nodesubnet"
    err = _reject(doc)
    assert err.path == path
    assert "cni: dynamic" in err.message
    assert err.value == "nodesubnet"


def test_dynamic_cluster_pool_without_pod_subnet(scenario_doc):
    doc = scenario_doc()
    del doc["clusters"][0]["pod_subnet"]
    err = _reject(doc)
    assert err.path == f"{POOL}.pod_subnet"
    assert "needs a pod subnet" in err.message


def test_dynamic_cluster_cannot_mix_pools_without_pod_subnet(scenario_doc):
    doc = scenario_doc()
    del doc["clusters"][0]["pod_subnet"]
    _pools(doc, [1, 1])
    _pool(doc, 0, 0)["pod_subnet"] = "podsubnet"
    err = _reject(doc)
    assert err.path == "clusters[aks1].node_pools[pool1].pod_subnet"
    assert "needs a pod subnet" in err.message
    assert "mix CNI" in err.message


@pytest.mark.parametrize(
    ("level", "path"),
    [("cluster", "clusters[aks1].pod_subnet"), ("pool", f"{POOL}.pod_subnet")],
)
def test_pod_subnet_equal_to_node_subnet(scenario_doc, level, path):
    doc = scenario_doc()
    target = doc["clusters"][0] if level == "cluster" else _pool(doc)
    target["pod_subnet"] = "nodesubnet"
    err = _reject(doc)
    assert err.path == path
    assert "different subnet from the node subnet" in err.message
    assert err.value == "nodesubnet"


def test_node_pools_of_one_cluster_in_different_vnets(scenario_doc):
    doc = scenario_doc(cni="traditional")
    _add_vnet(doc, subnet="nodes2")
    _pools(doc, [1, 1])
    _pool(doc, 0, 1)["node_subnet"] = "nodes2"
    err = _reject(doc)
    assert err.path == "clusters[aks1].node_pools[pool1].node_subnet"
    assert "one VNet" in err.message


# --- max pods, system pods, node counts ------------------------------------------------


@pytest.mark.parametrize("max_pods", [9, 251])
def test_max_pods_out_of_range(scenario_doc, max_pods):
    err = _reject(scenario_doc(max_pods=max_pods))
    assert err.path == f"{POOL}.max_pods"
    assert "between 10 and 250" in err.message
    assert err.value == max_pods


@pytest.mark.parametrize(("max_pods", "nodes"), [(10, 3), (250, 1), (30, 1)])
def test_max_pods_accepted(scenario_doc, max_pods, nodes):
    pool = load_scenario(scenario_doc(max_pods=max_pods, nodes=nodes)).clusters[0].node_pools[0]
    assert (pool.max_pods, pool.count) == (max_pods, nodes)


@pytest.mark.parametrize(("max_pods", "nodes"), [(10, 1), (10, 2), (29, 1)])
def test_max_pods_below_30_needs_room_for_30_pods(scenario_doc, max_pods, nodes):
    err = _reject(scenario_doc(max_pods=max_pods, nodes=nodes))
    assert err.path == f"{POOL}.max_pods"
    assert "fewer than 30 pods" in err.message
    assert err.value == max_pods


def test_max_pods_below_30_on_an_empty_pool_is_fine(scenario_doc):
    assert load_scenario(scenario_doc(max_pods=10, nodes=0)).clusters[0].node_pools[0].count == 0


@pytest.mark.parametrize(
    ("cni", "max_pods", "system_pods", "limit"),
    [("dynamic", 20, 21, 20), ("traditional", None, 31, 30)],
    ids=["explicit-max-pods", "traditional-default"],
)
def test_system_pods_per_node_above_max_pods(scenario_doc, cni, max_pods, system_pods, limit):
    err = _reject(scenario_doc(cni=cni, max_pods=max_pods, nodes=2, system_pods=system_pods))
    assert err.path == f"{POOL}.system_pods_per_node"
    assert "more system pods per node than max pods" in err.message
    assert f"({limit})" in err.message
    assert err.value == system_pods


def test_system_pods_equal_to_max_pods_is_fine(scenario_doc):
    pool = load_scenario(scenario_doc(max_pods=20, nodes=2, system_pods=20)).clusters[0]
    assert pool.node_pools[0].system_pods_per_node == 20


def test_node_pool_count_above_1000(scenario_doc):
    err = _reject(scenario_doc(nodes=1001))
    assert err.path == f"{POOL}.count"
    assert "between 0 and 1000" in err.message
    assert err.value == 1001


def test_more_than_5000_nodes_in_a_cluster(scenario_doc):
    doc = scenario_doc()
    _pools(doc, [1000] * 6)
    err = _reject(doc)
    assert err.path == "clusters[aks1].node_pools"
    assert "6000 nodes" in err.message and "5000" in err.message


def test_5000_nodes_in_a_cluster_is_fine(scenario_doc):
    doc = scenario_doc()
    _pools(doc, [1000] * 5)
    assert sum(p.count for p in load_scenario(doc).clusters[0].node_pools) == 5000


def test_timeline_cannot_scale_a_cluster_past_5000_nodes(scenario_doc):
    doc = scenario_doc(timeline=_scale_pool(node_pool="pool5", count=1000))
    _pools(doc, [1000] * 5 + [0])
    err = _reject(doc)
    assert err.path == "timeline[0].scale_node_pool.count"
    assert "5000" in err.message


# --- names -----------------------------------------------------------------------------


def _dup_vnet(doc: Doc) -> None:
    _add_vnet(doc, name="vnet1")


def _dup_subnet(doc: Doc) -> None:
    _vnet(doc)["subnets"].append({"name": "nodesubnet", "cidr": "10.250.0.0/24"})


def _dup_subnet_across_vnets(doc: Doc) -> None:
    _add_vnet(doc, subnet="nodesubnet")


def _dup_cluster(doc: Doc) -> None:
    doc["clusters"].append(copy.deepcopy(doc["clusters"][0]))


def _dup_pool(doc: Doc) -> None:
    doc["clusters"][0]["node_pools"].append(copy.deepcopy(_pool(doc)))


def _dup_workload(doc: Doc) -> None:
    doc["workloads"].append({"name": "web", "cluster": "aks1"})


@pytest.mark.parametrize(
    ("mutate", "path", "kind", "first"),
    [
        (_dup_vnet, "network.vnets[1].name", "VNet", "network.vnets[0].name"),
        (_dup_subnet, "network.vnets[vnet1].subnets[2].name", "subnet", "subnets[0].name"),
        (
            _dup_subnet_across_vnets,
            "network.vnets[vnet2].subnets[nodesubnet].name",
            "subnet",
            "vnets[vnet1]",
        ),
        (_dup_cluster, "clusters[1].name", "cluster", "clusters[0].name"),
        (_dup_pool, "clusters[aks1].node_pools[1].name", "node pool", "node_pools[0].name"),
        (_dup_workload, "workloads[1].name", "workload", "workloads[0].name"),
    ],
    ids=["vnet", "subnet", "subnet-across-vnets", "cluster", "node-pool", "workload"],
)
def test_duplicate_names(scenario_doc, mutate, path, kind, first):
    doc = scenario_doc()
    mutate(doc)
    err = _reject(doc)
    assert err.path == path
    assert f"duplicate {kind} name" in err.message
    assert first in err.message


# --- references ------------------------------------------------------------------------


REFERENCES = [
    (f"{POOL}.node_subnet", "subnet", "nodesubnet"),
    ("clusters[aks1].pod_subnet", "subnet", "podsubnet"),
    (f"{POOL}.pod_subnet", "subnet", "podsubnet"),
    ("workloads[web].cluster", "cluster", "aks1"),
    ("workloads[web].node_pool", "node pool in cluster 'aks1'", "user"),
    ("timeline[0].scale_node_pool.cluster", "cluster", "aks1"),
    ("timeline[0].scale_node_pool.node_pool", "node pool in cluster 'aks1'", "user"),
    ("timeline[0].scale_workload.workload", "workload", "web"),
]
REFERENCE_IDS = [
    "node_subnet",
    "cluster.pod_subnet",
    "pool.pod_subnet",
    "workload.cluster",
    "workload.node_pool",
    "scale_node_pool.cluster",
    "scale_node_pool.node_pool",
    "scale_workload.workload",
]


def _doc_for(scenario_doc, path: str) -> Doc:
    if path.startswith("timeline[0].scale_workload"):
        return scenario_doc(timeline=_scale_workload())
    if path.startswith("timeline[0].scale_node_pool"):
        return scenario_doc(timeline=_scale_pool())
    return scenario_doc()


@pytest.mark.parametrize(("path", "kind", "right"), REFERENCES, ids=REFERENCE_IDS)
def test_dangling_reference_suggests_a_close_name(scenario_doc, path, kind, right):
    doc = _doc_for(scenario_doc, path)
    wrong = right[:-1] + "x"
    _set(doc, path, wrong)
    err = _reject(doc)
    assert err.path == path
    assert f"no {kind} named {wrong!r}" in err.message
    assert f"did you mean {right!r}?" in err.message


@pytest.mark.parametrize(("path", "kind", "right"), REFERENCES, ids=REFERENCE_IDS)
def test_dangling_reference_far_from_any_name_lists_known_names(scenario_doc, path, kind, right):
    doc = _doc_for(scenario_doc, path)
    _set(doc, path, "zzzzzzzz")
    err = _reject(doc)
    assert err.path == path
    assert f"no {kind} named 'zzzzzzzz'" in err.message
    assert "did you mean" not in err.message
    assert "known: " in err.message
    assert repr(right) in err.message.partition("known: ")[2]


# --- timeline --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "timeline", [_scale_workload(at="11m"), _scale_pool(at="601s")], ids=["workload", "pool"]
)
def test_timeline_entry_after_the_end_of_the_run(scenario_doc, timeline):
    err = _reject(scenario_doc(duration="10m", timeline=timeline))
    assert err.path == "timeline[0].at"
    assert "after the end of the run" in err.message
    assert "duration 10m" in err.message


def test_timeline_entry_at_the_end_of_the_run_is_fine(scenario_doc):
    scenario = load_scenario(scenario_doc(duration="10m", timeline=_scale_workload(at="10m")))
    assert scenario.timeline[0].at == 600


@pytest.mark.parametrize(
    ("entry", "shown"),
    [
        ({"at": "1m"}, "no action"),
        ({"at": "1m", "scale_workload": None}, "no action"),
        (
            {
                "at": "1m",
                "scale_workload": {"workload": "web", "replicas": 1},
                "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 1},
            },
            "scale_node_pool, scale_workload",
        ),
    ],
    ids=["no-action", "null-action", "two-actions"],
)
def test_timeline_entry_needs_exactly_one_action(scenario_doc, entry, shown):
    err = _reject(scenario_doc(timeline=[entry]))
    assert err.path == "timeline[0]"
    assert "exactly one action" in err.message
    assert err.value == shown


def test_timeline_error_names_the_entry_index(scenario_doc):
    timeline = _scale_workload() + _scale_pool() + [{"at": "2m"}]
    assert _reject(scenario_doc(timeline=timeline)).path == "timeline[2]"


# --- resolved defaults -----------------------------------------------------------------


@pytest.mark.parametrize(("cni", "expected"), [("traditional", 30), ("dynamic", 250)])
def test_default_max_pods_by_cni(scenario_doc, cni, expected):
    assert load_scenario(scenario_doc(cni=cni)).clusters[0].node_pools[0].max_pods == expected


def test_pool_inherits_the_cluster_pod_subnet(scenario_doc):
    pool = load_scenario(scenario_doc()).clusters[0].node_pools[0]
    assert pool.pod_subnet == "podsubnet"


def test_traditional_pool_has_no_pod_subnet(scenario_doc):
    pool = load_scenario(scenario_doc(cni="traditional")).clusters[0].node_pools[0]
    assert pool.pod_subnet is None


def test_explicit_max_pods_is_kept(scenario_doc):
    assert load_scenario(scenario_doc(max_pods=110)).clusters[0].node_pools[0].max_pods == 110


def test_load_scenario_does_not_modify_the_document(scenario_doc):
    doc = scenario_doc()
    before = copy.deepcopy(doc)
    load_scenario(doc)
    assert doc == before


def test_a_resolved_scenario_loads_again_unchanged(scenario_doc):
    scenario = load_scenario(scenario_doc())
    assert load_scenario(scenario) == scenario
    assert load_scenario(scenario.to_document()) == scenario


# --- valid variations ------------------------------------------------------------------


def _second_cluster(doc: Doc, node_subnet: str, pod_subnet: str | None) -> None:
    cluster: dict[str, Any] = {
        "name": "aks2",
        "node_pools": [{"name": "apps", "count": 2, "node_subnet": node_subnet}],
    }
    if pod_subnet is not None:
        cluster["pod_subnet"] = pod_subnet
    doc["clusters"].append(cluster)


def test_two_clusters_sharing_a_pod_subnet(scenario_doc):
    doc = scenario_doc()
    _vnet(doc)["subnets"].append({"name": "nodes2", "cidr": "10.242.0.0/24"})
    _second_cluster(doc, "nodes2", "podsubnet")
    scenario = load_scenario(doc)
    assert [c.node_pools[0].pod_subnet for c in scenario.clusters] == ["podsubnet"] * 2


def test_node_subnet_shared_between_clusters(scenario_doc):
    doc = scenario_doc()
    _vnet(doc)["subnets"].append({"name": "pods2", "cidr": "10.242.0.0/16"})
    _second_cluster(doc, "nodesubnet", "pods2")
    scenario = load_scenario(doc)
    assert [c.node_pools[0].node_subnet for c in scenario.clusters] == ["nodesubnet"] * 2
    assert [c.node_pools[0].pod_subnet for c in scenario.clusters] == ["podsubnet", "pods2"]


def test_traditional_and_dynamic_clusters_share_a_node_subnet(scenario_doc):
    doc = scenario_doc()
    _second_cluster(doc, "nodesubnet", None)
    doc["clusters"][1]["cni"] = "traditional"
    scenario = load_scenario(doc)
    assert [c.node_pools[0].max_pods for c in scenario.clusters] == [250, 30]


def test_per_pool_pod_subnet_override(scenario_doc):
    doc = scenario_doc()
    _vnet(doc)["subnets"].append({"name": "pods2", "cidr": "10.242.0.0/16"})
    _pools(doc, [1, 1])
    _pool(doc, 0, 1)["pod_subnet"] = "pods2"
    pools = load_scenario(doc).clusters[0].node_pools
    assert [p.pod_subnet for p in pools] == ["podsubnet", "pods2"]


def test_pool_pod_subnet_without_a_cluster_default(scenario_doc):
    doc = scenario_doc()
    del doc["clusters"][0]["pod_subnet"]
    _pool(doc)["pod_subnet"] = "podsubnet"
    assert load_scenario(doc).clusters[0].node_pools[0].pod_subnet == "podsubnet"


def test_several_vnets_each_with_its_own_cluster(scenario_doc):
    doc = scenario_doc()
    _add_vnet(doc, subnet="nodes2")
    _vnet(doc, 1)["subnets"].append({"name": "pods2", "cidr": "172.16.16.0/20"})
    _second_cluster(doc, "nodes2", "pods2")
    assert [c.name for c in load_scenario(doc).clusters] == ["aks1", "aks2"]


def test_a_sample_grid_too_fine_for_the_run_is_accepted(scenario_doc):
    # 2,592,001 grid times: the run coarsens its grid to the output budget
    # (test_output_budget.py) instead of refusing the scenario.
    doc = scenario_doc(duration="30d")
    doc["sample_every"] = "1s"
    assert load_scenario(doc).sample_every == 1
