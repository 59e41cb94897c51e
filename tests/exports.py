"""Small exports of an AKS cluster, written as ``az`` and ``kubectl`` print them (after the
examples of ``Azure/azure-rest-api-specs``: ManagedClustersGet, AgentPoolsList,
VirtualNetworkGet, VirtualNetworkListUsage; and the NodeNetworkConfig CRD of
``Azure/azure-container-networking``), for the import and calibration tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
RG = f"{SUB}/resourceGroups/rg1/providers"
VNET_ID = f"{RG}/Microsoft.Network/virtualNetworks/vnet1"
MC = f"{SUB}/resourceGroups/MC_rg1_aks1_eastus/providers/Microsoft.Compute/virtualMachineScaleSets"


def subnet_id(name: str, vnet: str = VNET_ID) -> str:
    return f"{vnet}/subnets/{name}"


def cluster(
    plugin: str = "azure", mode: str | None = None, pod_cidr: str | None = None, name: str = "aks1"
) -> dict[str, Any]:
    """``az aks show -o json`` (the az shape: properties flattened, nulls present)."""
    return {
        "name": name,
        "location": "eastus",
        "resourceGroup": "rg1",
        "id": f"{RG}/Microsoft.ContainerService/managedClusters/{name}",
        "type": "Microsoft.ContainerService/ManagedClusters",
        "kubernetesVersion": "1.30",
        "currentKubernetesVersion": "1.30.4",
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "networkProfile": {
            "networkPlugin": plugin,
            "networkPluginMode": mode,
            "networkPolicy": "none",
            "networkDataplane": "azure",
            "podCidr": pod_cidr,
            "podCidrs": [pod_cidr] if pod_cidr else None,
            "serviceCidr": "10.0.0.0/16",
            "serviceCidrs": ["10.0.0.0/16"],
            "dnsServiceIp": "10.0.0.10",
            "ipFamilies": ["IPv4"],
            "loadBalancerSku": "standard",
            "outboundType": "loadBalancer",
        },
        "autoScalerProfile": {
            "scanInterval": "10s",
            "scaleDownDelayAfterAdd": "15m",
            "scaleDownUnneededTime": "5m",
            "scaleDownUtilizationThreshold": "0.6",
            "maxNodeProvisionTime": "15m",
            "expander": "random",
        },
        "agentPoolProfiles": [],
    }


def pool(
    name: str,
    count: int,
    *,
    vm: str = "Standard_D4s_v5",
    max_pods: int | None = 30,
    mode: str = "User",
    node_subnet: str = "nodes",
    pod_subnet: str | None = "pods",
    allocation: str | None = "DynamicIndividual",
    autoscale: tuple[int, int] | None = None,
    cluster_name: str = "aks1",
) -> dict[str, Any]:
    """One entry of ``az aks nodepool list -o json``."""
    return {
        "id": f"{SUB}/resourcegroups/rg1/providers/Microsoft.ContainerService/managedClusters/"
        f"{cluster_name}/agentPools/{name}",
        "name": name,
        "resourceGroup": "rg1",
        "type": "Microsoft.ContainerService/managedClusters/agentPools",
        "typePropertiesType": "VirtualMachineScaleSets",
        "count": count,
        "vmSize": vm,
        "maxPods": max_pods,
        "mode": mode,
        "osType": "Linux",
        "osSku": "Ubuntu",
        "vnetSubnetId": subnet_id(node_subnet),
        "podSubnetId": subnet_id(pod_subnet) if pod_subnet else None,
        "podIpAllocationMode": allocation if pod_subnet else None,
        "enableAutoScaling": autoscale is not None,
        "minCount": autoscale[0] if autoscale else None,
        "maxCount": autoscale[1] if autoscale else None,
        "orchestratorVersion": "1.30",
        "currentOrchestratorVersion": "1.30.4",
        "upgradeSettings": {
            "maxSurge": "33%",
            "maxUnavailable": "0",
            "drainTimeoutInMinutes": 30,
            "nodeSoakDurationInMinutes": 0,
            "undrainableNodeBehavior": None,
        },
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
    }


def vnet() -> dict[str, Any]:
    """``az network vnet show -o json``: a node subnet with a load balancer frontend among
    the scale set's NICs, a delegated pod subnet, and a subnet of private endpoints."""
    nic = f"{MC}/aks-system-12345678-vmss/virtualMachines/0/networkInterfaces/aks-system-12345678-vmss/ipConfigurations/ipconfig1"  # noqa: E501
    return {
        "name": "vnet1",
        "id": VNET_ID,
        "location": "eastus",
        "resourceGroup": "rg1",
        "type": "Microsoft.Network/virtualNetworks",
        "addressSpace": {"addressPrefixes": ["10.224.0.0/12", "fd00:db8::/48"]},
        "subnets": [
            {
                "name": "nodes",
                "id": subnet_id("nodes"),
                "addressPrefix": "10.224.0.0/24",
                "ipConfigurations": [
                    {"id": nic, "resourceGroup": "MC_rg1_aks1_eastus"},
                    {
                        "id": f"{RG}/Microsoft.Network/loadBalancers/ilb/frontendIPConfigurations/fe",  # noqa: E501
                        "resourceGroup": "rg1",
                    },
                ],
            },
            {
                "name": "pods",
                "id": subnet_id("pods"),
                "addressPrefix": "10.225.0.0/22",
                "delegations": [
                    {
                        "name": "aks-delegation",
                        "serviceName": "Microsoft.ContainerService/managedClusters",
                        "actions": ["Microsoft.Network/virtualNetworks/subnets/join/action"],
                    }
                ],
            },
            {"name": "pods2", "id": subnet_id("pods2"), "addressPrefix": "10.227.0.0/24"},
            {
                "name": "endpoints",
                "id": subnet_id("endpoints"),
                "addressPrefixes": ["10.226.0.0/24", "10.226.1.0/24"],
                "privateEndpoints": [{"id": f"{RG}/Microsoft.Network/privateEndpoints/pe-kv"}],
                "ipConfigurations": [
                    {"id": f"{RG}/Microsoft.Network/networkInterfaces/pe.nic/ipConfigurations/pe"}
                ],
            },
        ],
        "virtualNetworkPeerings": [],
    }


def usage(**in_use: int) -> list[dict[str, Any]]:
    """``az network vnet list-usage -o json`` (the bare array az prints)."""
    out = []
    for name, current in in_use.items():
        out.append(
            {
                "currentValue": float(current),
                "id": subnet_id(name),
                "limit": 65531.0,
                "name": {"localizedValue": "Subnet size and usage", "value": "SubnetSpace"},
                "unit": "Count",
            }
        )
    return out


def nnc(nodes: dict[str, tuple[int, int]], subnet: str = "pods") -> dict[str, Any]:
    """``kubectl get nnc -n kube-system -o json``: node -> (requested, allocated)."""
    items = []
    for k, (node, (requested, allocated)) in enumerate(nodes.items()):
        items.append(
            {
                "apiVersion": "acn.azure.com/v1alpha",
                "kind": "NodeNetworkConfig",
                "metadata": {"name": node, "namespace": "kube-system"},
                "spec": {"requestedIPCount": requested},
                "status": {
                    "assignedIPCount": allocated,
                    "scaler": {
                        "batchSize": 16,
                        "releaseThresholdPercent": 150,
                        "requestThresholdPercent": 50,
                        "maxIPCount": 250,
                    },
                    "status": "Updated",
                    "networkContainers": [
                        {
                            "id": f"nc-{k}",
                            "assignmentMode": "dynamic",
                            "type": "vnet",
                            "primaryIP": f"10.225.{k}.4",
                            "subnetName": subnet,
                            "subnetAddressSpace": "10.225.0.0/22",
                            "defaultGateway": "10.225.0.1",
                            "nodeIP": f"10.224.0.{4 + k}",
                            "version": 1,
                            "status": "NCUpdateSuccess",
                            "ipAssignments": [
                                {"name": f"uuid-{k}-{i}", "ip": f"10.225.{k}.{5 + i}"}
                                for i in range(allocated)
                            ],
                        }
                    ],
                },
            }
        )
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def arm(doc: dict[str, Any], *, keep: tuple[str, ...] = ("id", "name", "type", "location")) -> dict:
    """The ARM shape of an az object: everything but ``keep`` under ``properties``."""
    props = {k: copy.deepcopy(v) for k, v in doc.items() if k not in keep}
    return {**{k: doc[k] for k in keep if k in doc}, "properties": props}


def write(folder: Path, name: str, doc: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(doc, indent=1))
    return path
