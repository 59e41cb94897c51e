"""``ipsim import``: a commented scenario that validates, from a cluster's exports."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner
from exports import arm, cluster, nnc, pool, usage, vnet, write

import simulator
from simulator.cli import cli
from simulator.errors import InputError
from simulator.scenario.importer import import_files

NNC = {f"aks-system-12345678-vmss00000{i}": (32, 32) for i in range(3)} | {
    f"aks-user-87654321-vmss00000{i}": (48, 48) for i in range(2)
}


def _files(tmp_path, *, pools=None, aks=None, with_usage=True, with_nnc=True):
    pools = (
        pools
        if pools is not None
        else [
            pool("system", 3, mode="System", autoscale=(3, 10)),
            pool("user", 2, vm="Standard_D8s_v5", max_pods=250, allocation=None),
        ]
    )
    files = {
        "clusters": [write(tmp_path, "aks.json", aks or cluster())],
        "node_pools": [write(tmp_path, "pools.json", pools)],
        "vnets": [write(tmp_path, "vnet.json", vnet())],
    }
    extra = {}
    if with_usage:
        extra["usage"] = [write(tmp_path, "usage.json", usage(nodes=12, pods=200, endpoints=3))]
    if with_nnc:
        extra["nnc"] = write(tmp_path, "nnc.json", nnc(NNC))
    return files, extra


def _document(tmp_path, **kw):
    files, extra = _files(tmp_path, **kw)
    return import_files(files["clusters"], files["node_pools"], files["vnets"], **extra)


def test_a_dynamic_cluster(tmp_path):
    imported = _document(tmp_path)
    doc = imported.document
    (c,) = doc["clusters"]
    assert c["cni"] == "dynamic" and c["pod_subnet"] == "pods"
    assert c["node_pools"] == [
        {
            "name": "system",
            "count": 3,
            "max_pods": 30,
            "node_subnet": "nodes",
            "vm_size": "Standard_D4s_v5",
            "autoscaler": {"min": 3, "max": 10},
        },
        {
            "name": "user",
            "count": 2,
            "max_pods": 250,
            "node_subnet": "nodes",
            "vm_size": "Standard_D8s_v5",
        },
    ]
    assert c["autoscaler_profile"] == {
        "scan_interval": "10s",
        "scale_down_unneeded_time": "5m",
        "scale_down_delay_after_add": "15m",
        "scale_down_utilization_threshold": 0.6,
    }
    assert c["ipam"] == {
        "batch_size": 16,
        "request_threshold_percent": 50,
        "release_threshold_percent": 150,
    }
    (v,) = doc["network"]["vnets"]
    assert v["address_space"] == ["10.224.0.0/12"]  # the IPv6 range is not modelled
    # nodes: 12 in use - 5 node IPs; pods: 200 - (3 × (32 + 1) + 2 × (48 + 1)) = 3.
    assert v["subnets"] == [
        {"name": "nodes", "cidr": "10.224.0.0/24", "reserved": 7},
        {"name": "pods", "cidr": "10.225.0.0/22", "reserved": 3},
    ]
    assert imported.comments[("network", "vnets", 0, "subnets", 1, "reserved")] == (
        "list-usage: 200 in use - 197 held by the clusters' nodes = 3 held by other consumers"
    )
    assert imported.comments[("network", "vnets", 0, "subnets")] == (
        "subnets no pool uses, left out: pods2, endpoints"
    )
    assert simulator.load_scenario(doc, base=tmp_path)


def test_a_traditional_cluster_and_reserved_without_usage(tmp_path):
    pools = [pool("system", 3, pod_subnet=None), pool("user", 2, max_pods=50, pod_subnet=None)]
    with_usage = _document(tmp_path, pools=pools, with_nnc=False).document
    (c,) = with_usage["clusters"]
    assert c["cni"] == "traditional" and "pod_subnet" not in c
    # 3 × (1 + 30) + 2 × (1 + 50) = 195 > 12 in use: the usage is older than the pools.
    assert with_usage["network"]["vnets"][0]["subnets"] == [
        {"name": "nodes", "cidr": "10.224.0.0/24", "reserved": 0}
    ]
    bigger = usage(nodes=200)
    files, _ = _files(tmp_path, pools=pools, with_usage=False, with_nnc=False)
    doc = import_files(**files, usage=[write(tmp_path, "u.json", bigger)]).document
    assert doc["network"]["vnets"][0]["subnets"][0]["reserved"] == 5
    # Without list-usage: the subnet's IP configurations not on a scale set (the ILB).
    doc = _document(tmp_path, pools=pools, with_usage=False, with_nnc=False).document
    assert doc["network"]["vnets"][0]["subnets"][0]["reserved"] == 1
    assert simulator.load_scenario(doc, base=tmp_path)


def test_the_arm_shape_reads_as_the_az_shape(tmp_path):
    az = _document(tmp_path).document
    rename = {
        "vnetSubnetId": "vnetSubnetID",
        "podSubnetId": "podSubnetID",
        "podIpAllocationMode": "podIPAllocationMode",
    }
    pools = [
        arm({rename.get(k, k): v for k, v in p.items()})
        for p in [
            pool("system", 3, mode="System", autoscale=(3, 10)),
            pool("user", 2, vm="Standard_D8s_v5", max_pods=250, allocation=None),
        ]
    ]
    aks = cluster()
    aks["networkProfile"]["dnsServiceIP"] = aks["networkProfile"].pop("dnsServiceIp")
    aks["autoScalerProfile"] = {
        "scan-interval": "10s",
        "scale-down-delay-after-add": "15m",
        "scale-down-unneeded-time": "5m",
        "scale-down-utilization-threshold": "0.6",
    }
    files, extra = _files(tmp_path, aks=arm(aks))
    files["node_pools"] = [write(tmp_path, "pools.json", {"value": pools, "nextLink": None})]
    files["vnets"] = [write(tmp_path, "vnet.json", arm(vnet()))]
    assert import_files(**files, **extra).document["clusters"] == az["clusters"]


def test_without_node_pools_the_clusters_own_pool_profiles(tmp_path):
    listed = _document(tmp_path).document
    aks = cluster()
    # az aks show's agentPoolProfiles: the same fields, without id and type.
    aks["agentPoolProfiles"] = [
        {k: v for k, v in p.items() if k not in ("id", "type", "resourceGroup")}
        for p in [
            pool("system", 3, mode="System", autoscale=(3, 10)),
            pool("user", 2, vm="Standard_D8s_v5", max_pods=250, allocation=None),
        ]
    ]
    files, extra = _files(tmp_path, aks=aks)
    files["node_pools"] = []
    assert import_files(**files, **extra).document["clusters"] == listed["clusters"]


MODES = {
    "kubenet": (
        cluster("kubenet", pod_cidr="10.244.0.0/16"),
        [pool("user", 3, max_pods=110, pod_subnet=None)],
    ),
    "overlay": (
        cluster("azure", "overlay", pod_cidr="192.168.0.0/16"),
        [pool("user", 3, max_pods=250, pod_subnet=None)],
    ),
    "static-block": (
        cluster(),
        [pool("user", 3, allocation="StaticBlock"), pool("more", 2, allocation="StaticBlock")],
    ),
    # One allocation mode per pod subnet: the dynamic pool has a subnet of its own.
    "mixed": (
        cluster(),
        [
            pool("user", 3, allocation="StaticBlock"),
            pool("more", 2, allocation="DynamicIndividual", pod_subnet="pods2"),
        ],
    ),
}


def _mode_document(tmp_path, mode):
    aks, pools = MODES[mode]
    return _document(tmp_path, aks=aks, pools=pools, with_nnc=False).document


def test_the_other_modes_are_written_with_their_keys(tmp_path):
    kubenet = _mode_document(tmp_path, "kubenet")["clusters"][0]
    assert (kubenet["cni"], kubenet["pod_cidr"]) == ("kubenet", "10.244.0.0/16")
    assert "pod_subnet" not in kubenet
    overlay = _mode_document(tmp_path, "overlay")["clusters"][0]
    assert (overlay["cni"], overlay["pod_cidr"]) == ("overlay", "192.168.0.0/16")
    block = _mode_document(tmp_path, "static-block")
    assert block["clusters"][0]["cni"] == "static-block"
    assert block["clusters"][0]["pod_subnet"] == "pods"
    assert all("pod_ip_allocation" not in p for p in block["clusters"][0]["node_pools"])
    # Static block: ceil((30 + 1) / 16) = 2 blocks of 16 per node, 5 nodes: 160 of 200.
    assert block["network"]["vnets"][0]["subnets"][1]["reserved"] == 40
    mixed = _mode_document(tmp_path, "mixed")["clusters"][0]
    assert mixed["cni"] == "dynamic"
    assert [p.get("pod_ip_allocation") for p in mixed["node_pools"]] == ["static-block", None]
    assert [p.get("pod_subnet") for p in mixed["node_pools"]] == ["pods", "pods2"]


@pytest.mark.parametrize("mode", list(MODES))
def test_the_other_modes_validate_as_imported(tmp_path, mode):
    assert simulator.load_scenario(_mode_document(tmp_path, mode), base=tmp_path)


def test_several_clusters_on_one_vnet(tmp_path):
    files, extra = _files(tmp_path)
    files["clusters"].append(write(tmp_path, "aks2.json", cluster(name="aks2")))
    files["node_pools"].append(
        write(tmp_path, "pools2.json", [pool("apps", 4, pod_subnet="pods", cluster_name="aks2")])
    )
    doc = import_files(**files, **extra).document
    assert [c["name"] for c in doc["clusters"]] == ["aks1", "aks2"]
    # nodes: 12 - (5 + 4) = 3; pods: aks2's nodes have no NNC: what they hold is unknown,
    # so the pod subnet's reserved count comes from its IP configurations (none).
    assert [s["reserved"] for s in doc["network"]["vnets"][0]["subnets"]] == [3, 0]
    assert simulator.load_scenario(doc, base=tmp_path)


def _error(tmp_path, name, doc, *, kind="clusters"):
    files, extra = _files(tmp_path)
    (extra if kind == "usage" else files)[kind] = [write(tmp_path, name, doc)]
    with pytest.raises(InputError) as err:
        import_files(**files, **extra)
    return str(err.value)


def test_json_that_is_not_the_named_export_is_refused(tmp_path):
    no_profile = cluster()
    del no_profile["networkProfile"]
    assert _error(tmp_path, "aks.json", no_profile) == (
        "aks.json: networkProfile: is required: this is not the output of az aks show"
    )
    assert _error(tmp_path, "pools.json", {"name": "x"}, kind="node_pools") == (
        "pools.json: is not the output of az aks nodepool list: expected a list"
    )
    assert _error(tmp_path, "pools.json", [{"name": "x", "count": 1}], kind="node_pools") == (
        "pools.json: [0].vmSize: is required: this is not the output of az aks nodepool list"
    )
    assert _error(tmp_path, "vnet.json", {"name": "vnet1", "subnets": []}, kind="vnets") == (
        "vnet.json: addressSpace.addressPrefixes: is required: this is not the output of az "
        "network vnet show"
    )
    wrong = usage(nodes=1)
    wrong[0]["name"]["value"] = "PublicIPAddresses"
    assert _error(tmp_path, "usage.json", wrong, kind="usage") == (
        "usage.json: [0].name.value: expected SubnetSpace: this is not the output of az network "
        "vnet list-usage (got 'PublicIPAddresses')"
    )
    files, extra = _files(tmp_path)
    extra["nnc"] = write(tmp_path, "nnc.json", {"kind": "PodList", "items": []})
    with pytest.raises(InputError, match=r"nnc.json: kind: expected NodeNetworkConfig, or a List"):
        import_files(**files, **extra)
    byo = cluster("none")
    assert _error(tmp_path, "aks.json", byo).startswith(
        "aks.json: networkProfile.networkPlugin: 'none' is not modelled"
    )
    (tmp_path / "bad.json").write_text("{not json")
    files["clusters"] = [tmp_path / "bad.json"]
    with pytest.raises(InputError, match=r"bad.json: is not JSON"):
        import_files(**files)


def test_a_pool_in_a_subnet_the_vnet_lacks_is_refused(tmp_path):
    files, extra = _files(tmp_path, pools=[pool("user", 2, node_subnet="other")])
    with pytest.raises(InputError) as err:
        import_files(**files, **extra)
    assert str(err.value) == (
        "pools.json: [0].vnetSubnetId: names subnet 'other', which VNet 'vnet1' does not have "
        "(subnets: nodes, pods, pods2, endpoints)"
    )


def test_the_command_writes_a_commented_scenario_that_validates(tmp_path):
    files, extra = _files(tmp_path)
    out = tmp_path / "scenario.yaml"
    args = [
        "import",
        "--cluster",
        str(files["clusters"][0]),
        "--node-pools",
        str(files["node_pools"][0]),
        "--vnet",
        str(files["vnets"][0]),
        "--usage",
        str(extra["usage"][0]),
        "--nnc",
        str(extra["nnc"]),
        "-o",
        str(out),
    ]
    got = CliRunner().invoke(cli, args)
    assert got.exit_code == 0, got.output
    assert got.output.strip() == (
        f"1 cluster(s) (dynamic), 2 node pool(s), 2 subnet(s) with 10 addresses held by other "
        f"consumers: written to {out}"
    )
    text = out.read_text()
    assert text.startswith("# Written by ipsim import")
    assert "# list-usage: 12 in use - 5 held by the clusters' nodes = 7 held by other" in text
    assert "# upgrade settings: maxSurge 33%, maxUnavailable 0" in text
    assert (
        '#   - {at: 10m, upgrade_node_pool: {cluster: aks1, node_pool: user, max_surge: "33%", '
        "max_unavailable: 0, drain_timeout: 30m, node_soak: 0m}}" in text
    )
    assert yaml.safe_load(text)["clusters"][0]["cni"] == "dynamic"
    assert CliRunner().invoke(cli, ["validate", str(out)]).exit_code == 0
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 2 and "exists already; use --force" in again.output
    bad = CliRunner().invoke(
        cli,
        [
            "import",
            "--cluster",
            str(files["vnets"][0]),
            "--vnet",
            str(files["vnets"][0]),
            "-o",
            str(tmp_path / "x.yaml"),
        ],
    )
    assert bad.exit_code == 2
    assert bad.output.strip() == (
        "error: vnet.json: networkProfile: is required: this is not the output of az aks show"
    )
