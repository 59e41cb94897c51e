"""A scenario document from a user's exports: the VNet and the subnets the clusters use,
each cluster with its CNI mode, pools and autoscaler profile, and the addresses other
consumers already hold in each subnet.

The mode follows AKS's network profile and pools (``azure-rest-api-specs``'
ManagedCluster and AgentPool): ``networkPlugin: kubenet`` is kubenet; ``azure`` with
``networkPluginMode: overlay`` is Overlay; ``azure`` with pools that name no
``podSubnetID`` is traditional Azure CNI; with a pod subnet it is dynamic allocation,
or static block where the pool's ``podIPAllocationMode`` is ``StaticBlock`` (every pool:
``cni: static-block``; some: ``pod_ip_allocation: static-block`` on those).

A subnet's ``reserved`` count is what ``list-usage`` says is in use minus what the
clusters' nodes explain (traditional: 1 + max pods per node in the node subnet;
dynamic: 1 per node there, and what the NNCs say each node holds in the pod subnet;
static block: its /28 blocks; Overlay and kubenet: 1 per node). Without a usage file
it is the subnet's IP configurations that are not on a scale set's NIC (load balancer
frontends, private endpoints, other VMs).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from simulator.core.modes import MODES, static_blocks
from simulator.core.vm_sizes import VM_SIZES
from simulator.errors import InputError
from simulator.scenario.importer.exports import (
    AgentPool,
    ManagedCluster,
    NodeNetworkConfig,
    SubnetUsage,
    VirtualNetwork,
)

__all__ = ["Imported", "build_scenario"]

_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smh]?)\s*$")
_AUTOSCALER = {
    "scanInterval": "scan_interval",
    "scaleDownUnneededTime": "scale_down_unneeded_time",
    "scaleDownDelayAfterAdd": "scale_down_delay_after_add",
}


@dataclass
class Imported:
    """The scenario document, the comments that go with its keys, and notes for the
    user (what could not be imported)."""

    document: dict[str, Any]
    comments: dict[tuple[Any, ...], str] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _duration(text: Any) -> str | None:
    """An autoscaler duration (``10s``, ``10m``, a bare number of seconds) for a scenario."""
    match = _DURATION.match(str(text))
    if not match:
        return None
    return f"{match.group(1)}{match.group(2) or 's'}"


def _mode(cluster: ManagedCluster, pools: list[AgentPool], source: str) -> tuple[str, str]:
    """The cluster's ``cni`` and why."""
    plugin, mode = cluster.network_plugin, cluster.plugin_mode
    if plugin == "kubenet":
        return "kubenet", "networkPlugin kubenet"
    if plugin != "azure":
        raise InputError(
            f"{plugin!r} is not modelled: ipsim simulates Azure CNI (traditional, dynamic, "
            "static block, Overlay) and kubenet",
            source=cluster.source,
            where="networkProfile.networkPlugin",
            value=plugin,
        )
    if mode == "overlay":
        return "overlay", "networkPlugin azure, networkPluginMode overlay"
    with_subnet = [p for p in pools if p.pod_subnet is not None]
    if not with_subnet:
        return "traditional", "networkPlugin azure, no pool names a podSubnetId"
    if len(with_subnet) < len(pools):
        lone = next(p for p in pools if p.pod_subnet is None)
        raise InputError(
            "names no podSubnetId while other pools do: one cluster cannot mix traditional "
            "Azure CNI with a pod subnet",
            source=source,
            where=f"{lone.where}.podSubnetId",
        )
    if all(p.allocation == "StaticBlock" for p in pools):
        return "static-block", "networkPlugin azure, podSubnetId, podIpAllocationMode StaticBlock"
    return "dynamic", "networkPlugin azure, podSubnetId, podIpAllocationMode DynamicIndividual"


def _subnet(
    vnets: dict[str, VirtualNetwork], ref: tuple[str, str], source: str, where: str
) -> tuple[VirtualNetwork, str]:
    vnet_name, subnet = ref
    vnet = next((v for k, v in vnets.items() if k.lower() == vnet_name.lower()), None)
    if vnet is None:
        raise InputError(
            f"names VNet {vnet_name!r}, which no --vnet file holds (VNets: "
            f"{', '.join(vnets) or 'none'}); export it with az network vnet show",
            source=source,
            where=where,
        )
    name = next((s for s in vnet.subnets if s.lower() == subnet.lower()), None)
    if name is None:
        raise InputError(
            f"names subnet {subnet!r}, which VNet {vnet.name!r} does not have (subnets: "
            f"{', '.join(vnet.subnets)})",
            source=source,
            where=where,
        )
    if vnet.subnets[name].cidr is None:
        raise InputError(
            f"subnet {name!r} has no IPv4 prefix (IPv6 is not modelled)",
            source=vnet.source,
            where=f"subnets.{name}",
        )
    return vnet, name


def build_scenario(
    clusters: list[tuple[ManagedCluster, list[AgentPool] | None, str]],
    vnets: list[VirtualNetwork],
    *,
    usage: dict[str, SubnetUsage] | None = None,
    nnc: list[NodeNetworkConfig] | None = None,
    nnc_source: str = "",
    name: str | None = None,
    sources: list[str] | None = None,
) -> Imported:
    """The scenario of ``clusters`` (each with its node pools, or None for the cluster's
    own ``agentPoolProfiles``, and the pools' file name) on ``vnets``."""
    by_name = {v.name: v for v in vnets}
    out = Imported(document={})
    notes = out.comments
    used: dict[str, set[str]] = {}  # VNet -> its subnets in use, in order of first use
    order: list[tuple[str, str]] = []
    explained: Counter[str] = Counter()
    unknown: set[str] = set()  # subnets whose nodes' holding is not known
    docs = []
    for c, (cluster, pools, pools_source) in enumerate(clusters):
        pools = pools if pools is not None else cluster.pools
        source = pools_source or cluster.source
        if not pools:
            raise InputError(
                "the cluster has no node pools: give --node-pools (az aks nodepool list)",
                source=cluster.source,
                where="agentPoolProfiles",
            )
        cni, why = _mode(cluster, pools, source)
        spec = MODES.get(cni)
        cluster_doc: dict[str, Any] = {"name": cluster.name, "cni": cni}
        path = ("clusters", c)
        notes[(*path, "name")] = f"{cluster.source} (az aks show)" + (
            f", Kubernetes {cluster.kubernetes_version}" if cluster.kubernetes_version else ""
        )
        notes[(*path, "cni")] = why
        if cni in ("overlay", "kubenet"):
            cluster_doc["pod_cidr"] = cluster.pod_cidr or "10.244.0.0/16"
            notes[(*path, "pod_cidr")] = (
                "networkProfile.podCidr" if cluster.pod_cidr else "not in the export: AKS's default"
            )
        pod_subnets = {p.pod_subnet for p in pools}
        pool_docs = []
        for p, pool in enumerate(pools):
            where = f"{pool.where}.vnetSubnetId"
            if pool.node_subnet is None:
                raise InputError(
                    "is empty: the pool's nodes are in an AKS-managed VNet; export that VNet "
                    "(in the node resource group) and give the pool's subnet",
                    source=source,
                    where=where,
                )
            vnet, node_subnet = _subnet(by_name, pool.node_subnet, source, where)
            pool_doc: dict[str, Any] = {"name": pool.name, "count": pool.count}
            ppath = (*path, "node_pools", p)
            described = [f"{pool.mode} pool, {pool.os_type}"]
            if pool.mode.lower() == "system":
                described.append(
                    "its add-on pods are in no export: set system_pods_per_node if they have "
                    "pod IPs"
                )
            if pool.os_type.lower() == "windows":
                described.append("Windows nodes are modelled as Linux ones")
            notes[(*ppath, "name")] = "; ".join(described)
            if pool.max_pods is not None:
                pool_doc["max_pods"] = pool.max_pods
            else:
                notes[(*ppath, "count")] = "maxPods not in the export: the mode's default"
            pool_doc["node_subnet"] = node_subnet
            _use(used, order, vnet.name, node_subnet)
            pod_subnet = None
            if pool.pod_subnet is not None:
                _, pod_subnet = _subnet(
                    by_name, pool.pod_subnet, source, f"{pool.where}.podSubnetId"
                )
                _use(used, order, vnet.name, pod_subnet)
                if len(pod_subnets) > 1:
                    pool_doc["pod_subnet"] = pod_subnet
                if cni == "dynamic" and pool.allocation == "StaticBlock":
                    pool_doc["pod_ip_allocation"] = "static-block"
                    notes[(*ppath, "pod_ip_allocation")] = "podIpAllocationMode StaticBlock"
            if pool.vm_size in VM_SIZES:
                pool_doc["vm_size"] = pool.vm_size
            else:
                notes[(*ppath, "count")] = (
                    f"VM size {pool.vm_size} is not in ipsim's table: give allocatable "
                    "(cpu, memory) to limit pods by their requests"
                )
            if pool.autoscaling and pool.min_count is not None and pool.max_count is not None:
                low, high = pool.min_count, pool.max_count
                pool_doc["autoscaler"] = {"min": low, "max": high}
                if not low <= pool.count <= high:
                    clamped = min(max(pool.count, low), high)
                    notes[(*ppath, "count")] = (
                        f"AKS reports {pool.count} nodes, outside the autoscaler's {low}..{high}"
                    )
                    pool_doc["count"] = clamped
            if pool.upgrade:
                text = ", ".join(f"{k} {v}" for k, v in pool.upgrade.items())
                notes[(*ppath, "node_subnet")] = (
                    f"upgrade settings: {text} (an upgrade is a timeline action, below)"
                )
                out.footer.append(
                    f"#   - {{at: 10m, upgrade_node_pool: {{cluster: {cluster.name}, node_pool: "
                    f"{pool.name}, {_upgrade_keys(pool.upgrade)}}}}}"
                )
            pool_docs.append(pool_doc)
            _explain(
                explained,
                unknown,
                cni,
                pool,
                pool_doc,
                node_subnet,
                pod_subnet,
                nnc,
                spec.max_pods_default if spec else 250,
            )
        if len(pod_subnets) == 1 and None not in pod_subnets:
            (only,) = pod_subnets
            cluster_doc["pod_subnet"] = _subnet(by_name, only, source, "podSubnetId")[1]
        ipam = _ipam(nnc) if cni == "dynamic" and nnc else None
        if ipam:
            cluster_doc["ipam"] = ipam
            notes[(*path, "ipam")] = f"{nnc_source}: status.scaler of the nodes' NNCs"
        profile = _profile(cluster)
        if profile:
            cluster_doc["autoscaler_profile"] = profile
            notes[(*path, "autoscaler_profile")] = "autoScalerProfile"
        cluster_doc["node_pools"] = pool_docs
        notes[(*path, "node_pools")] = (
            f"{source} (az aks nodepool list)"
            if pools_source
            else f"agentPoolProfiles of {cluster.source} (az aks show)"
        )
        docs.append(cluster_doc)
    vnet_docs = []
    for v, vnet_name in enumerate(dict.fromkeys(vn for vn, _ in order)):
        vnet = by_name[vnet_name]
        subnet_docs = []
        for s, subnet in enumerate(n for vn, n in order if vn == vnet_name):
            info = vnet.subnets[subnet]
            subnet_doc: dict[str, Any] = {"name": subnet, "cidr": info.cidr}
            spath = ("network", "vnets", v, "subnets", s)
            if len(info.prefixes) > 1:
                notes[(*spath, "cidr")] = (
                    f"the subnet's prefixes are {', '.join(info.prefixes)}: ipsim takes the first"
                )
            reserved, why = _reserved(subnet, info, usage, explained, unknown)
            subnet_doc["reserved"] = reserved
            notes[(*spath, "reserved")] = why
            subnet_docs.append(subnet_doc)
        vnet_docs.append(
            {"name": vnet.name, "address_space": vnet.address_space, "subnets": subnet_docs}
        )
        notes[("network", "vnets", v, "name")] = f"{vnet.source} (az network vnet show)" + (
            f"; IPv6 ranges not modelled: {', '.join(vnet.skipped_prefixes)}"
            if vnet.skipped_prefixes
            else ""
        )
        others = [n for n in vnet.subnets if n not in used.get(vnet.name, set())]
        if others:
            notes[("network", "vnets", v, "subnets")] = (
                f"subnets no pool uses, left out: {', '.join(others)}"
            )
    out.document = {
        "version": 1,
        "name": name or _name(clusters[0][0].name),
        "description": "Imported from "
        + ", ".join(sources or [c.source for c, _, _ in clusters] + [v.source for v in vnets]),
        "duration": "1h",
        "sample_every": "30s",
        "network": {"vnets": vnet_docs},
        "clusters": docs,
        "workloads": [],
    }
    notes[("workloads",)] = (
        "The pods to run: for instance a trace of this cluster's pods (ipsim trace inspect):\n"
        "  - {name: replay, kind: trace, cluster: " + docs[0]["name"] + ",\n"
        "     source: {format: kube-state-metrics, file: pods.json}}"
    )
    if out.footer:
        out.footer.insert(0, "# timeline: (each pool's upgrade settings; uncomment to upgrade)")
    return out


def _surge(value: Any) -> Any:
    text = str(value).strip()
    return f'"{text}"' if text.endswith("%") else text


def _upgrade_keys(upgrade: dict[str, Any]) -> str:
    """A pool's upgrade settings as ``upgrade_node_pool`` keys (AKS's defaults left out:
    an unset ``maxSurge`` is ``10%``, the action's default too)."""
    keys = [
        ("max_surge", "maxSurge", _surge),
        ("max_unavailable", "maxUnavailable", _surge),
        ("drain_timeout", "drainTimeoutInMinutes", lambda m: f"{m}m"),
        ("node_soak", "nodeSoakDurationInMinutes", lambda m: f"{m}m"),
    ]
    parts = [f"{key}: {spell(upgrade[field])}" for key, field, spell in keys if field in upgrade]
    return ", ".join(parts) or f"max_surge: {_surge('10%')}"


def _name(cluster: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", cluster)[:80] or "imported"


def _use(used: dict[str, set[str]], order: list[tuple[str, str]], vnet: str, subnet: str) -> None:
    if subnet not in used.setdefault(vnet, set()):
        used[vnet].add(subnet)
        order.append((vnet, subnet))


def _explain(
    explained: Counter[str],
    unknown: set[str],
    cni: str,
    pool: AgentPool,
    pool_doc: dict[str, Any],
    node_subnet: str,
    pod_subnet: str | None,
    nnc: list[NodeNetworkConfig] | None,
    default_max_pods: int,
) -> None:
    """Add what the pool's nodes hold in each of its subnets."""
    nodes = pool_doc["count"]
    max_pods = pool.max_pods or default_max_pods
    if cni == "traditional":
        explained[node_subnet] += nodes * (1 + max_pods)
        return
    explained[node_subnet] += nodes
    if pod_subnet is None:
        return
    if cni == "static-block" or pool.allocation == "StaticBlock":
        explained[pod_subnet] += nodes * static_blocks(max_pods) * 16
        return
    prefix = f"aks-{pool.name}-"
    mine = [n for n in (nnc or []) if n.node.startswith(prefix)]
    if mine:
        explained[pod_subnet] += sum(n.allocated + n.primary for n in mine)
    else:
        unknown.add(pod_subnet)


def _reserved(
    subnet: str,
    info: Any,
    usage: dict[str, SubnetUsage] | None,
    explained: Counter[str],
    unknown: set[str],
) -> tuple[int, str]:
    """A subnet's reserved count and how it was found."""
    foreign = [c for c in info.ip_configurations if "/virtualmachinescalesets/" not in c.lower()]
    by_configs = (
        f"{len(foreign)} IP configurations of the subnet are not on a scale set's NIC "
        f"(load balancers, private endpoints: {info.private_endpoints}, other VMs)"
    )
    record = (usage or {}).get(subnet)
    if record is None or record.in_use < 0:
        return len(foreign), by_configs if usage is None else f"no list-usage entry: {by_configs}"
    if subnet in unknown:
        return len(foreign), (
            f"list-usage: {record.in_use} in use; what the nodes hold here is unknown without "
            f"--nnc, so: {by_configs}"
        )
    held = explained[subnet]
    if record.in_use < held:
        return 0, (
            f"list-usage: {record.in_use} in use, fewer than the {held} the nodes hold by "
            "their counts (the cluster was scaling?): none reserved"
        )
    return record.in_use - held, (
        f"list-usage: {record.in_use} in use - {held} held by the clusters' nodes = "
        f"{record.in_use - held} held by other consumers"
    )


def _ipam(nnc: list[NodeNetworkConfig]) -> dict[str, int] | None:
    """The scaler most NNCs report (CNS's batch and thresholds)."""
    keys = {
        "batchSize": "batch_size",
        "requestThresholdPercent": "request_threshold_percent",
        "releaseThresholdPercent": "release_threshold_percent",
    }
    out = {}
    for key, name in keys.items():
        values = Counter(n.scaler[key] for n in nnc if n.scaler.get(key))
        if values:
            out[name] = values.most_common(1)[0][0]
    return out or None


def _profile(cluster: ManagedCluster) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, name in _AUTOSCALER.items():
        value = cluster.autoscaler.get(key)
        if value is not None and _duration(value):
            out[name] = _duration(value)
    threshold = cluster.autoscaler.get("scaleDownUtilizationThreshold")
    try:
        if threshold is not None and math.isfinite(float(threshold)):
            out["scale_down_utilization_threshold"] = float(threshold)
    except ValueError:
        pass
    return out
