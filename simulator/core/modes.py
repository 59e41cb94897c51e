"""The table of CNI modes: how each way of giving pods addresses takes them, and from where.

One entry per mode (reference/azure-cni.md §2–§8) holds everything the rest of ipsim
asks of a mode: its name in scenario files, the address spaces its nodes take from and
the per-node rule of how many (which ``ipsim calc`` and ``ipsim chart capacity`` apply),
its scenario rules (max pods default and range, whether pools take a pod subnet), the
model's strategy that simulates it (named by import path: the core imports no SimPy),
whether CNS keeps an NNC pool for it (``nnc.csv``, ``ipsim export-metrics``) and what
AKS's pre-flight check asks of a new node. Nothing outside a mode's own modules compares
mode names: it reads the entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from simulator.core.pool_monitor import Scaler

__all__ = [
    "DEFAULT_MODE",
    "MODES",
    "ModeSpec",
    "NodeLoad",
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


@dataclass(frozen=True)
class NodeLoad:
    """What a node's consumption depends on."""

    max_pods: int
    pods: int  # pods with a pod IP the node runs (at most max pods)
    batch: int = 16  # dynamic allocation's batch size


@dataclass(frozen=True)
class Take:
    """What one node holds of one address space: ``units`` of ``block`` addresses each."""

    space: Space
    units: int
    block: int = 1  # addresses per unit: 1, or 16 for a /28 block
    formula: str = ""  # how ``units`` follows from the node, for ``ipsim calc``'s notes


@dataclass(frozen=True)
class ModeSpec:
    """One CNI mode, as the rest of ipsim knows it."""

    name: str  # ``clusters[].cni`` and ``--cni``
    title: str
    pod_addresses: Space  # where pods' addresses come from: the space that limits a cluster
    max_pods_default: int
    takes: Callable[[NodeLoad], tuple[Take, ...]]  # the per-node consumption rule
    pod_subnet: bool  # pools take a pod subnet (required), or none (refused)
    strategy: str | None  # ``module:Class`` of the model's strategy; None: formulas only
    cns_pool: bool = False  # CNS keeps an NNC pool: cx_ipam_* metrics exist
    max_pods_range: tuple[int, int] = (10, 250)
    #: Node-subnet addresses AKS's ``InsufficientSubnetSize`` check wants free per new
    #: node, from the pool's max pods; None where ipsim does not model the check.
    preflight: Callable[[int], int] | None = None
    #: Extra words for ``ipsim calc``'s note on the pod subnet, from the node count.
    calc_note: Callable[[int], str] | None = None
    #: Why a pool of this mode takes no pod subnet (modes without one).
    pod_subnet_refusal: str = ""


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


def _one_node_address(load: NodeLoad) -> Take:
    return Take(Space.NODE_SUBNET, 1)


def _traditional(load: NodeLoad) -> tuple[Take, ...]:
    return (Take(Space.NODE_SUBNET, 1 + load.max_pods, formula=f"(1 + {load.max_pods})"),)


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


#: Every CNI mode by the name scenario files and ``--cni`` use, in the order tables list them.
MODES: dict[str, ModeSpec] = {
    spec.name: spec
    for spec in (
        ModeSpec(
            name="traditional",
            title="traditional Azure CNI: 1 + max pods addresses per node from the node subnet",
            pod_addresses=Space.NODE_SUBNET,
            max_pods_default=30,
            takes=_traditional,
            pod_subnet=False,
            strategy="simulator.model.cni.traditional:TraditionalCni",
            preflight=lambda max_pods: max_pods,
            pod_subnet_refusal="traditional Azure CNI takes pod IPs from the node subnet",
        ),
        ModeSpec(
            name="dynamic",
            title="dynamic allocation: pod addresses in batches from a pod subnet",
            pod_addresses=Space.POD_SUBNET,
            # The seed document's 250 (newer docs say 110; see docs/model.md).
            max_pods_default=250,
            takes=_dynamic,
            pod_subnet=True,
            strategy="simulator.model.cni.dynamic:DynamicCni",
            cns_pool=True,
            calc_note=lambda nodes: f"idle band {8 * nodes}..{24 * nodes} for {nodes} nodes",
        ),
        ModeSpec(
            name="static-block",
            title="static block allocation: /28 blocks of a pod subnet per node",
            pod_addresses=Space.POD_SUBNET,
            max_pods_default=250,
            takes=_static_block,
            pod_subnet=True,
            strategy=None,
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
