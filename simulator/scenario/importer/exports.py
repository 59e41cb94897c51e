"""The JSON a user exports from Azure and from the cluster, read into plain records.

``az aks show`` (a ManagedCluster), ``az aks nodepool list`` (AgentPools),
``az network vnet show`` (a VirtualNetwork), ``az network vnet list-usage`` (Usages)
and ``kubectl get nnc -n kube-system -o json`` (NodeNetworkConfigs). The shapes are
those of ``Azure/azure-rest-api-specs`` (``ManagedClustersGet.json``,
``AgentPoolsList.json``, ``VirtualNetworkGet.json``, ``VirtualNetworkListUsage.json``)
and of ``Azure/azure-container-networking`` (``crd/nodenetworkconfig/api/v1alpha``).
``az`` flattens ARM's ``properties`` and spells IDs ``vnetSubnetId`` where ARM says
``vnetSubnetID``, and autoscaler keys ``scanInterval`` where ARM says ``scan-interval``:
both shapes are read, keys compared without case, hyphens or underscores. A file that
is not the named export is refused with the field that was expected.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.errors import InputError

__all__ = [
    "AgentPool",
    "ManagedCluster",
    "NodeNetworkConfig",
    "SubnetInfo",
    "SubnetUsage",
    "VirtualNetwork",
    "read_cluster",
    "read_nnc",
    "read_node_pools",
    "read_usage",
    "read_vnet",
    "subnet_name",
]

#: Exported JSON files larger than this are refused (a 5,000-node NNC list is ~20 MB).
MAX_EXPORT_BYTES = 64 * 1024 * 1024
_SUBNET_ID = re.compile(
    r"(?i)/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/"
    r"virtualNetworks/(?P<vnet>[^/]+)/subnets/(?P<subnet>[^/]+)$"
)


def _key(name: str) -> str:
    return name.replace("-", "").replace("_", "").lower()


class _Doc:
    """One JSON object, its keys found whatever their case or separators, ARM's
    ``properties`` flattened in."""

    def __init__(self, obj: Mapping[str, Any], source: str, where: str) -> None:
        merged = dict(obj)
        props = obj.get("properties")
        if isinstance(props, Mapping):
            merged.update(props)
        self.keys = {_key(k): v for k, v in merged.items()}
        self.source = source
        self.where = where

    def get(self, *names: str, default: Any = None) -> Any:
        for name in names:
            value = self.keys.get(_key(name))
            if value is not None:
                return value
        return default

    def at(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def need(self, name: str, export: str, kind: type | tuple[type, ...] = object) -> Any:
        value = self.get(name)
        if value is None or not isinstance(value, kind):
            raise InputError(
                f"is required: this is not the output of {export}",
                source=self.source,
                where=self.at(name),
            )
        return value

    def sub(self, name: str) -> _Doc:
        value = self.get(name)
        return _Doc(value if isinstance(value, Mapping) else {}, self.source, self.at(name))


def _load(file: Path) -> Any:
    try:
        if not file.is_file():
            raise InputError(
                "no such file" if not file.exists() else "is not a file", source=str(file)
            )
        if file.stat().st_size > MAX_EXPORT_BYTES:
            raise InputError(f"is larger than {MAX_EXPORT_BYTES:,} bytes", source=file.name)
        return json.loads(file.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", source=str(file)) from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"is not JSON: {exc}", source=file.name) from None


def _items(doc: Any, source: str, export: str) -> list[tuple[str, Mapping[str, Any]]]:
    """The entries of a list export: ``az`` prints an array, ARM ``{"value": [...]}``."""
    if isinstance(doc, Mapping) and isinstance(doc.get("value"), list):
        doc = doc["value"]
    if not isinstance(doc, list):
        raise InputError(f"is not the output of {export}: expected a list", source=source)
    out = []
    for i, item in enumerate(doc):
        if not isinstance(item, Mapping):
            raise InputError(
                f"is not the output of {export}: expected objects", source=source, where=f"[{i}]"
            )
        out.append((f"[{i}]", item))
    return out


def subnet_name(subnet_id: str | None) -> tuple[str, str] | None:
    """(VNet, subnet) of a subnet's ARM ID; None if it is none."""
    if not subnet_id:
        return None
    match = _SUBNET_ID.search(str(subnet_id))
    return (match.group("vnet"), match.group("subnet")) if match else None


@dataclass
class AgentPool:
    """One node pool, as AKS reports it."""

    name: str
    count: int
    vm_size: str
    max_pods: int | None
    mode: str
    os_type: str
    node_subnet: tuple[str, str] | None  # (VNet, subnet)
    pod_subnet: tuple[str, str] | None
    allocation: str | None  # podIPAllocationMode: DynamicIndividual, StaticBlock or None
    autoscaling: bool
    min_count: int | None
    max_count: int | None
    upgrade: dict[str, Any]
    where: str


def _pool(doc: _Doc, export: str) -> AgentPool:
    name = doc.need("name", export, str)
    vm_size = doc.need("vmSize", export, str)
    count = doc.get("count", default=0)
    for key, value in (("count", count), ("maxPods", doc.get("maxPods"))):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise InputError(
                "must be a whole number", source=doc.source, where=doc.at(key), value=value
            )
    subnet_ids = {}
    for key in ("vnetSubnetID", "podSubnetID"):
        value = doc.get(key)
        parsed = subnet_name(value)
        if value and parsed is None:
            raise InputError(
                "is not a subnet's resource ID (/subscriptions/.../virtualNetworks/"
                "VNET/subnets/SUBNET)",
                source=doc.source,
                where=doc.at(key),
                value=value,
            )
        subnet_ids[key] = parsed
    upgrade = doc.sub("upgradeSettings")
    return AgentPool(
        name=name,
        count=int(count),
        vm_size=vm_size,
        max_pods=doc.get("maxPods"),
        mode=str(doc.get("mode", default="User")),
        os_type=str(doc.get("osType", default="Linux")),
        node_subnet=subnet_ids["vnetSubnetID"],
        pod_subnet=subnet_ids["podSubnetID"],
        allocation=doc.get("podIPAllocationMode"),
        autoscaling=bool(doc.get("enableAutoScaling", default=False)),
        min_count=doc.get("minCount"),
        max_count=doc.get("maxCount"),
        upgrade={
            k: upgrade.get(k)
            for k in (
                "maxSurge",
                "maxUnavailable",
                "drainTimeoutInMinutes",
                "nodeSoakDurationInMinutes",
            )
            if upgrade.get(k) is not None
        },
        where=doc.where,
    )


@dataclass
class ManagedCluster:
    """A cluster's network profile, autoscaler profile and (``az aks show``'s) pools."""

    name: str
    source: str
    network_plugin: str
    plugin_mode: str | None
    pod_cidr: str | None
    service_cidr: str | None
    kubernetes_version: str | None
    autoscaler: dict[str, Any]
    pools: list[AgentPool] = field(default_factory=list)


_AUTOSCALER = (
    "scanInterval",
    "scaleDownUtilizationThreshold",
    "scaleDownUnneededTime",
    "scaleDownDelayAfterAdd",
    "maxNodeProvisionTime",
    "expander",
)


def read_cluster(file: Path) -> ManagedCluster:
    """``az aks show -o json`` (or the ARM ManagedCluster)."""
    export = "az aks show"
    raw = _load(file)
    if not isinstance(raw, Mapping):
        raise InputError(f"is not the output of {export}: expected an object", source=file.name)
    doc = _Doc(raw, file.name, "")
    name = doc.need("name", export, str)
    network = doc.need("networkProfile", export, Mapping)
    net = _Doc(network, file.name, "networkProfile")
    plugin = net.need("networkPlugin", export, str)
    profile = doc.sub("autoScalerProfile")
    pools = [
        _pool(_Doc(p, file.name, f"agentPoolProfiles[{i}]"), export)
        for i, p in enumerate(doc.get("agentPoolProfiles", default=[]) or [])
        if isinstance(p, Mapping)
    ]
    cidrs = net.get("podCidrs") or []
    return ManagedCluster(
        name=name,
        source=file.name,
        network_plugin=plugin.lower(),
        plugin_mode=(
            str(net.get("networkPluginMode")).lower() if net.get("networkPluginMode") else None
        ),
        pod_cidr=net.get("podCidr") or next((c for c in cidrs if ":" not in str(c)), None),
        service_cidr=net.get("serviceCidr"),
        kubernetes_version=doc.get("currentKubernetesVersion", "kubernetesVersion"),
        autoscaler={k: profile.get(k) for k in _AUTOSCALER if profile.get(k) is not None},
        pools=pools,
    )


def read_node_pools(file: Path) -> list[AgentPool]:
    """``az aks nodepool list -o json`` (or ARM's ``{"value": [AgentPool]}``)."""
    export = "az aks nodepool list"
    return [
        _pool(_Doc(item, file.name, where), export)
        for where, item in _items(_load(file), file.name, export)
    ]


@dataclass
class SubnetInfo:
    """One subnet of the VNet."""

    name: str
    cidr: str | None  # its first IPv4 prefix
    prefixes: list[str]
    delegated_to_aks: bool
    ip_configurations: list[str]
    private_endpoints: int


@dataclass
class VirtualNetwork:
    name: str
    source: str
    address_space: list[str]  # IPv4 prefixes
    subnets: dict[str, SubnetInfo]
    skipped_prefixes: list[str]  # IPv6 ranges, not modelled


def _ipv4(prefix: str) -> bool:
    try:
        return ipaddress.ip_network(prefix, strict=False).version == 4
    except ValueError:
        return False


def read_vnet(file: Path) -> VirtualNetwork:
    """``az network vnet show -o json`` (or the ARM VirtualNetwork)."""
    export = "az network vnet show"
    raw = _load(file)
    if not isinstance(raw, Mapping):
        raise InputError(f"is not the output of {export}: expected an object", source=file.name)
    doc = _Doc(raw, file.name, "")
    name = doc.need("name", export, str)
    space = doc.sub("addressSpace")
    prefixes = space.get("addressPrefixes")
    if not isinstance(prefixes, list):
        raise InputError(
            f"is required: this is not the output of {export}",
            source=file.name,
            where="addressSpace.addressPrefixes",
        )
    subnets = {}
    for i, item in enumerate(doc.need("subnets", export, list)):
        sub = _Doc(item if isinstance(item, Mapping) else {}, file.name, f"subnets[{i}]")
        sub_name = sub.need("name", export, str)
        given = ([sub.get("addressPrefix")] if sub.get("addressPrefix") else []) + list(
            sub.get("addressPrefixes") or []
        )
        given = list(dict.fromkeys(str(p) for p in given))
        v4 = [p for p in given if _ipv4(p)]
        subnets[sub_name] = SubnetInfo(
            name=sub_name,
            cidr=v4[0] if v4 else None,
            prefixes=given,
            delegated_to_aks=any(
                _Doc(d, file.name, "").get("serviceName")
                == "Microsoft.ContainerService/managedClusters"
                for d in sub.get("delegations") or []
                if isinstance(d, Mapping)
            ),
            ip_configurations=[
                str(c.get("id", ""))
                for c in sub.get("ipConfigurations") or []
                if isinstance(c, Mapping)
            ],
            private_endpoints=len(sub.get("privateEndpoints") or []),
        )
    return VirtualNetwork(
        name=name,
        source=file.name,
        address_space=[str(p) for p in prefixes if _ipv4(str(p))],
        subnets=subnets,
        skipped_prefixes=[str(p) for p in prefixes if not _ipv4(str(p))],
    )


@dataclass
class SubnetUsage:
    vnet: str
    subnet: str
    in_use: int
    limit: int


def read_usage(file: Path) -> dict[str, SubnetUsage]:
    """``az network vnet list-usage -o json``: addresses in use per subnet, by name."""
    export = "az network vnet list-usage"
    out = {}
    for where, item in _items(_load(file), file.name, export):
        doc = _Doc(item, file.name, where)
        kind = doc.sub("name").get("value")
        if kind != "SubnetSpace":
            raise InputError(
                f"expected SubnetSpace: this is not the output of {export}",
                source=file.name,
                where=doc.at("name.value"),
                value=kind,
            )
        parsed = subnet_name(doc.need("id", export, str))
        if parsed is None:
            raise InputError(
                "is not a subnet's resource ID",
                source=file.name,
                where=doc.at("id"),
                value=doc.get("id"),
            )
        current = doc.need("currentValue", export, (int, float))
        limit = doc.need("limit", export, (int, float))
        out[parsed[1]] = SubnetUsage(parsed[0], parsed[1], int(current), int(limit))
    return out


@dataclass
class NodeNetworkConfig:
    """One node's NNC: its requested and allocated pod addresses, and its subnet."""

    node: str
    requested: int  # spec.requestedIPCount
    allocated: int  # secondary addresses (ipAssignments; every address of a block)
    primary: int  # the NC's primary address(es): 1, or its prefix's size
    subnet: str | None  # the NC's subnet name
    scaler: dict[str, int]
    status: str | None  # the NC's status, e.g. NCUpdateSubnetFullError
    assignment_mode: str | None  # dynamic or static


def _addresses(ip: str) -> int:
    """1 for an address, the prefix's size for a block (static block, overlay)."""
    if "/" not in ip:
        return 1
    try:
        return ipaddress.ip_network(ip, strict=False).num_addresses
    except ValueError:
        return 0


def read_nnc(file: Path) -> list[NodeNetworkConfig]:
    """``kubectl get nnc -n kube-system -o json``: a List of NodeNetworkConfigs (or one)."""
    export = "kubectl get nnc -n kube-system -o json"
    raw = _load(file)
    if not isinstance(raw, Mapping):
        raise InputError(f"is not the output of {export}: expected an object", source=file.name)
    kind = raw.get("kind")
    if kind == "NodeNetworkConfig":
        items = [("", raw)]
    elif kind in ("List", "NodeNetworkConfigList") and isinstance(raw.get("items"), list):
        items = [(f"items[{i}]", item) for i, item in enumerate(raw["items"])]
    else:
        raise InputError(
            f"expected NodeNetworkConfig, or a List of them: this is not the output of {export}",
            source=file.name,
            where="kind",
            value=kind,
        )
    out = []
    for where, item in items:
        if (
            not isinstance(item, Mapping)
            or item.get("kind", "NodeNetworkConfig") != "NodeNetworkConfig"
        ):
            raise InputError(
                "expected a NodeNetworkConfig",
                source=file.name,
                where=f"{where}.kind" if where else "kind",
                value=item.get("kind") if isinstance(item, Mapping) else item,
            )
        meta = item.get("metadata") or {}
        spec = item.get("spec") or {}
        status = item.get("status") or {}
        ncs = status.get("networkContainers") or []
        nc = ncs[0] if ncs and isinstance(ncs[0], Mapping) else {}
        assignments = nc.get("ipAssignments") or []
        out.append(
            NodeNetworkConfig(
                node=str(meta.get("name", "")),
                requested=int(spec.get("requestedIPCount", 0) or 0),
                allocated=sum(
                    _addresses(str(a.get("ip", ""))) for a in assignments if isinstance(a, Mapping)
                ),
                primary=_addresses(str(nc["primaryIP"])) if nc.get("primaryIP") else 0,
                subnet=nc.get("subnetName"),
                scaler={
                    k: int(v)
                    for k, v in (status.get("scaler") or {}).items()
                    if isinstance(v, int | float)
                },
                status=nc.get("status"),
                assignment_mode=nc.get("assignmentMode"),
            )
        )
    return out
