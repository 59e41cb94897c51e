"""The table of CNI modes: how each way of giving pods addresses takes them, and from where.

One entry per mode (reference/azure-cni.md §2–§9) holds everything the rest of ipsim
asks of a mode: its name in scenario files and the AKS API fields it stands for, the
address spaces its nodes take from and the per-node rule of how many (which ``ipsim
calc`` and ``ipsim chart capacity`` apply), its scenario rules (max pods default and
range, whether pools take a pod subnet or the cluster a pod CIDR, its node limit), the
model's strategy that simulates it (named by import path: the core imports no SimPy),
whether CNS keeps an NNC pool for it (``nnc.csv``, ``ipsim export-metrics``) and what
AKS's pre-flight check asks of a pool operation. Nothing outside a mode's own modules
compares mode names: it reads the entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from simulator.core.pool_monitor import Scaler

__all__ = [
    "DEFAULT_MODE",
    "DEFAULT_POD_CIDR",
    "MAX_NODES_PER_CLUSTER",
    "MODES",
    "UPGRADE_SURGE",
    "AksFields",
    "ModeSpec",
    "NodeLoad",
    "PreflightRule",
    "Space",
    "Take",
    "dynamic_holding",
    "mode_spec",
    "simulated_modes",
    "static_blocks",
]


class Space(str, Enum):
    """An address space a node takes addresses from."""

    NODE_SUBNET = "node"  # the node pool's subnet of the VNet
    POD_SUBNET = "pod"  # a subnet of the VNet for pods only
    POD_CIDR = "pod-cidr"  # the cluster's private pod range, outside the VNet

    @property
    def label(self) -> str:
        return {"node": "node subnet", "pod": "pod subnet", "pod-cidr": "pod CIDR"}[self.value]

    @property
    def in_vnet(self) -> bool:
        """Whether its addresses are VNet addresses."""
        return self is not Space.POD_CIDR


#: The operation names of the pre-flight check (an upgrade's surge nodes).
UPGRADE_SURGE = "upgrade surge"

#: AKS's limit of nodes per cluster (reference §9: Overlay "up to 5,000 nodes").
MAX_NODES_PER_CLUSTER = 5000


@dataclass(frozen=True)
class NodeLoad:
    """What a node's consumption depends on."""

    max_pods: int
    pods: int  # pods with a pod IP the node runs (at most max pods)
    batch: int = 16  # dynamic allocation's batch size
    #: Traditional CNI: hostNetwork add-on pods per node, for which the NIC reserves no
    #: address (AKS CHANGELOG 2022-01-07; how many is not public: default none).
    unreserved: int = 0


@dataclass(frozen=True)
class Take:
    """What one node holds of one address space: ``units`` of ``block`` addresses each."""

    space: Space
    units: int
    block: int = 1  # addresses per unit: 1, or 16 for a /28 block
    formula: str = ""  # how ``units`` follows from the node, for ``ipsim calc``'s notes


@dataclass(frozen=True)
class AksFields:
    """The AKS API fields a mode stands for (what an import of a cluster would read)."""

    network_plugin: str  # networkProfile.networkPlugin
    network_plugin_mode: str | None = None  # networkProfile.networkPluginMode
    pod_ip_allocation_mode: str | None = None  # agentPoolProfiles[].podIPAllocationMode


@dataclass(frozen=True)
class PreflightRule:
    """One of AKS's ``InsufficientSubnetSize`` checks on a pool operation: what ``space``
    must hold, ``per_node(load)`` units of ``block`` addresses per node (addresses; /28
    blocks of a static pod subnet; /24s of a pod CIDR).

    ``counts``: ``space`` adds up every node pool whose nodes take from the same space,
    in every cluster, at its node count (an autoscaled pool at its max count), plus surge,
    and checks the total against the space's whole size, as AKS's messages print it
    ("Pre-allocated IPs 310 exceeds IPs available 251", reference §12); ``new`` checks
    the operation's new nodes against the space's free units. ``standing_surge``: the
    total always counts surge nodes (Overlay's pod CIDR), not only an upgrade's own.
    ``operations``: the operations the rule applies to (empty: all)."""

    space: Space
    per_node: Callable[[NodeLoad], int]
    counts: Literal["new", "space"] = "space"
    block: int = 1
    standing_surge: bool = False
    operations: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModeSpec:
    """One CNI mode, as the rest of ipsim knows it."""

    name: str  # ``clusters[].cni`` and ``--cni``
    title: str
    aks: AksFields
    pod_addresses: Space  # where pods' addresses come from: the space that limits a cluster
    max_pods_default: int
    takes: Callable[[NodeLoad], tuple[Take, ...]]  # the per-node consumption rule
    pod_subnet: bool  # pools take a pod subnet (required), or none (refused)
    strategy: str | None  # ``module:Class`` of the model's strategy; None: formulas only
    cns_pool: bool = False  # CNS keeps an NNC pool: cx_ipam_* metrics exist
    max_pods_range: tuple[int, int] = (10, 250)
    #: Most nodes a cluster of this mode holds.
    max_nodes: int = MAX_NODES_PER_CLUSTER
    #: Why the cluster holds at most ``max_nodes`` (for messages).
    max_nodes_reason: str = "an AKS cluster"
    #: AKS's ``InsufficientSubnetSize`` checks of a pool operation; none where the
    #: sources document none for the mode.
    preflight: tuple[PreflightRule, ...] = ()
    #: Extra words for ``ipsim calc``'s note on the pods' space, from the node count.
    calc_note: Callable[[int], str] | None = None
    #: Why a pool of this mode takes no pod subnet (modes without one).
    pod_subnet_refusal: str = ""
    #: The largest pod subnet the mode supports, as a prefix length (None: any).
    pod_subnet_largest: int | None = None
    #: The cluster's pod CIDR when the scenario gives none; None: the mode takes none.
    pod_cidr_default: str | None = None
    #: Whether ``expand_pod_cidr`` may widen the pod CIDR of a running cluster.
    pod_cidr_expandable: bool = False
    #: The ``node_pools[].pod_ip_allocation`` values its pools may choose.
    pool_allocations: tuple[str, ...] = ()
    #: A note for the summary on a pool's max pods (None: nothing to say).
    max_pods_note: Callable[[int], str | None] | None = None

    @property
    def pod_cidr(self) -> bool:
        """Whether the cluster takes a pod CIDR (and must: it has a default)."""
        return self.pod_cidr_default is not None


def dynamic_holding(pods_per_node: int, max_pods: int, batch: int = 16, request: int = 50) -> int:
    """Pod-subnet addresses a node with ``pods_per_node`` pods settles at under pool
    monitor v1: the smallest whole number of batches leaving at least minFree free,
    capped at max pods, + 1 primary (reference §5)."""
    min_free = Scaler(batch, request).min_free
    secondaries = batch * math.ceil((pods_per_node + min_free) / batch)
    return min(secondaries, max_pods) + 1


def static_blocks(max_pods: int) -> int:
    """/28 blocks a node takes in static block mode: room for max pods + 1 (reference §8)."""
    return math.ceil((max_pods + 1) / 16)


def _static_waste(max_pods: int) -> str | None:
    """The docs recommend max pods = 16·N − 1: anything else leaves addresses unused."""
    blocks = static_blocks(max_pods)
    waste = 16 * blocks - 1 - max_pods
    if not waste:
        return None
    return (
        f"max pods {max_pods} takes {blocks} /28 blocks per node and leaves {waste} of their "
        f"addresses unused; max pods {16 * blocks - 1} (16·N − 1) would use them all"
    )


def _one_node_address(load: NodeLoad) -> Take:
    return Take(Space.NODE_SUBNET, 1)


def _traditional(load: NodeLoad) -> tuple[Take, ...]:
    if not load.unreserved:
        return (Take(Space.NODE_SUBNET, 1 + load.max_pods, formula=f"(1 + {load.max_pods})"),)
    units = 1 + load.max_pods - load.unreserved
    formula = f"(1 + {load.max_pods} - {load.unreserved})"
    return (Take(Space.NODE_SUBNET, units, formula=formula),)


def _dynamic(load: NodeLoad) -> tuple[Take, ...]:
    each = dynamic_holding(load.pods, load.max_pods, load.batch)
    return (
        _one_node_address(load),
        Take(Space.POD_SUBNET, each, formula=f"{each} ({load.pods} pods per node)"),
    )


def _static_block(load: NodeLoad) -> tuple[Take, ...]:
    blocks = static_blocks(load.max_pods)
    return (
        _one_node_address(load),
        Take(Space.POD_SUBNET, blocks, block=16, formula=f"{blocks} /28 blocks"),
    )


def _node_cidr(load: NodeLoad) -> tuple[Take, ...]:
    return (_one_node_address(load), Take(Space.POD_CIDR, 1, block=256, formula="1 /24"))


def _cidr_note(nodes: int) -> str:
    return "not VNet addresses; the default 10.244.0.0/16 holds 256 /24s"


#: The pod CIDR of an Overlay or kubenet cluster that names none (reference §9).
DEFAULT_POD_CIDR = "10.244.0.0/16"
#: One node-subnet address per node in the pre-flight check of modes whose pods take
#: their addresses elsewhere (reference §2, §12).
_ONE_PER_NODE = PreflightRule(Space.NODE_SUBNET, lambda load: 1)

#: Every CNI mode by the name scenario files and ``--cni`` use, in the order tables list them.
MODES: dict[str, ModeSpec] = {
    spec.name: spec
    for spec in (
        ModeSpec(
            name="traditional",
            title="traditional Azure CNI: 1 + max pods addresses per node from the node subnet",
            aks=AksFields("azure"),
            pod_addresses=Space.NODE_SUBNET,
            max_pods_default=30,
            takes=_traditional,
            pod_subnet=False,
            strategy="simulator.model.cni.traditional:TraditionalCni",
            # Reference §12: every pool on the node subnet at 1 + max pods per node
            # (Azure/AKS#456: 10 nodes at max pods 30 are "Pre-allocated IPs 310").
            preflight=(PreflightRule(Space.NODE_SUBNET, lambda load: 1 + load.max_pods),),
            pod_subnet_refusal="traditional Azure CNI takes pod IPs from the node subnet",
        ),
        ModeSpec(
            name="dynamic",
            title="dynamic allocation: pod addresses in batches from a pod subnet",
            aks=AksFields("azure", pod_ip_allocation_mode="DynamicIndividual"),
            pod_addresses=Space.POD_SUBNET,
            # The seed document's 250 (newer docs say 110; see docs/model.md).
            max_pods_default=250,
            takes=_dynamic,
            pod_subnet=True,
            strategy="simulator.model.cni.dynamic:DynamicCni",
            cns_pool=True,
            # The node subnet as every mode; the pod subnet on upgrades (AKS CHANGELOG
            # 2024-04-28): each surge node's NC primary and first batch, against the free.
            preflight=(
                _ONE_PER_NODE,
                PreflightRule(
                    Space.POD_SUBNET,
                    lambda load: 1 + load.batch,
                    counts="new",
                    operations=(UPGRADE_SURGE,),
                ),
            ),
            calc_note=lambda nodes: f"idle band {8 * nodes}..{24 * nodes} for {nodes} nodes",
            pool_allocations=("dynamic", "static-block"),
        ),
        ModeSpec(
            name="static-block",
            title="static block allocation: /28 blocks of a pod subnet per node",
            aks=AksFields("azure", pod_ip_allocation_mode="StaticBlock"),
            pod_addresses=Space.POD_SUBNET,
            max_pods_default=250,
            takes=_static_block,
            pod_subnet=True,
            strategy="simulator.model.cni.static_block:StaticBlockCni",
            pod_subnet_largest=12,
            # Every pool's /28 blocks against the pod subnet's blocks, as the node subnet
            # of traditional pools (the rule is not public: see docs/model.md).
            preflight=(
                _ONE_PER_NODE,
                PreflightRule(
                    Space.POD_SUBNET, lambda load: static_blocks(load.max_pods), block=16
                ),
            ),
            pool_allocations=("static-block",),
            max_pods_note=_static_waste,
        ),
        ModeSpec(
            name="overlay",
            title="Azure CNI Overlay: a /24 of a private pod CIDR per node",
            aks=AksFields("azure", network_plugin_mode="overlay"),
            pod_addresses=Space.POD_CIDR,
            max_pods_default=250,
            takes=_node_cidr,
            pod_subnet=False,
            strategy="simulator.model.cni.overlay:OverlayCni",
            # Reference §12 and AKS CHANGELOG 2023-05-07: the node subnet for new nodes;
            # the pod CIDR for every pool's nodes (max counts when autoscaled).
            preflight=(
                _ONE_PER_NODE,
                PreflightRule(Space.POD_CIDR, lambda load: 1, block=256, standing_surge=True),
            ),
            calc_note=_cidr_note,
            pod_subnet_refusal="Azure CNI Overlay takes pod IPs from the cluster's pod CIDR",
            pod_cidr_default=DEFAULT_POD_CIDR,
            pod_cidr_expandable=True,
        ),
        ModeSpec(
            name="kubenet",
            title="kubenet: a /24 of a private pod CIDR per node, routed by a route table",
            aks=AksFields("kubenet"),
            pod_addresses=Space.POD_CIDR,
            max_pods_default=110,
            takes=_node_cidr,
            pod_subnet=False,
            strategy="simulator.model.cni.kubenet:KubenetCni",
            max_nodes=400,
            max_nodes_reason="a kubenet cluster (an Azure route table holds 400 routes)",
            preflight=(_ONE_PER_NODE,),
            calc_note=_cidr_note,
            pod_subnet_refusal="kubenet takes pod IPs from the cluster's pod CIDR",
            pod_cidr_default=DEFAULT_POD_CIDR,
        ),
    )
}


#: The mode of a cluster that names none.
DEFAULT_MODE = "dynamic"


def mode_spec(name: str) -> ModeSpec:
    """The table entry of mode ``name``; ``KeyError`` names the modes there are."""
    try:
        return MODES[name]
    except KeyError:
        raise KeyError(f"unknown CNI mode {name!r}; one of {', '.join(MODES)}") from None


def simulated_modes() -> tuple[str, ...]:
    """The modes a scenario can run (those with a strategy in the model)."""
    return tuple(name for name, spec in MODES.items() if spec.strategy is not None)
