"""The documented sizing formulas (``ipsim calc``, ``ipsim chart capacity``), derived from
each mode's per-node rule in the table of CNI modes.

Reference: reference/azure-cni.md §1 (5 reserved addresses per subnet), §2 (traditional:
``(nodes + surge) × (1 + max pods)``), §5–7 (dynamic: a node settles at
``B·ceil(0.5 + U/B)`` secondaries plus its primary, so 8 to 24 idle addresses per node),
§8 (static blocks: ``ceil((max pods + 1) / 16)`` /28 blocks per node) and §9 (Overlay
and kubenet: 1 node-subnet address and a /24 of the pod CIDR per node; at most 5,000 and
400 nodes per cluster). A pod CIDR is no Azure subnet: every address of it counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from simulator.core.addressing import (
    MIN_PREFIX,
    block_capacity,
    block_prefix,
    smallest_block_prefix,
    smallest_prefix,
    usable_addresses,
)
from simulator.core.modes import NodeLoad, Space, Take, mode_spec

__all__ = ["SubnetNeed", "calculate", "largest_fit", "limiting_space"]


@dataclass(frozen=True)
class SubnetNeed:
    """What one subnet must hold."""

    subnet: str  # "node", "pod" or "pod-cidr"
    addresses: int
    prefix: int | None
    usable: int | None
    note: str = ""
    blocks: int | None = None  # /28 blocks (static block) or /24s (a pod CIDR)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _prefix(take: Take, units: int) -> int | None:
    """The smallest subnet (or pod CIDR) that holds ``units`` of the take."""
    if take.space is Space.POD_CIDR:  # whole blocks of a private range: no reserved ones
        prefix = block_prefix(take.block) - max(units - 1, 0).bit_length()
        return prefix if prefix >= MIN_PREFIX else None
    if take.block == 1:
        return smallest_prefix(units)
    return smallest_block_prefix(units, take.block)


def _capacity(take: Take, prefix: int) -> int:
    """Units of the take a subnet (or pod CIDR) of ``prefix`` holds."""
    if take.space is Space.POD_CIDR:
        top = block_prefix(take.block)
        return 2 ** (top - prefix) if prefix <= top else 0
    if take.block == 1:
        return max(usable_addresses(prefix), 0)
    return block_capacity(prefix, take.block)


def _size(take: Take, prefix: int) -> int:
    """Addresses of the space: usable ones of a subnet, every one of a pod CIDR."""
    return 2 ** (32 - prefix) if take.space is Space.POD_CIDR else usable_addresses(prefix)


def calculate(
    mode: str,
    nodes: int,
    max_pods: int,
    *,
    surge: int = 0,
    pods_per_node: int | None = None,
    batch: int = 16,
) -> list[SubnetNeed]:
    """Addresses each subnet needs for ``nodes`` (+ ``surge``) nodes, and the smallest
    prefix that holds them after the 5 reserved."""
    spec = mode_spec(mode)
    pods = max_pods if pods_per_node is None else min(pods_per_node, max_pods)
    total = nodes + surge
    needs = []
    for take in spec.takes(NodeLoad(max_pods, pods, batch)):
        units = total * take.units
        prefix = _prefix(take, units)
        count = f"({nodes} + {surge})" if take.space is Space.NODE_SUBNET else str(total)
        note = f"{count} × {take.formula}" if take.formula else "1 per node"
        if take.space is spec.pod_addresses and spec.calc_note is not None:
            note += f"; {spec.calc_note(total)}"
        if total > spec.max_nodes:
            note += f"; more than the {spec.max_nodes} nodes {spec.max_nodes_reason} holds"
        needs.append(
            SubnetNeed(
                take.space.value,
                units * take.block,
                prefix,
                _size(take, prefix) if prefix else None,
                note,
                units if take.block > 1 else None,
            )
        )
    return needs


def limiting_space(mode: str) -> Space:
    """The VNet subnet that limits a cluster of ``mode``: the one its pods' addresses come
    from, or the node subnet when they come from no VNet subnet (Overlay, kubenet)."""
    space = mode_spec(mode).pod_addresses
    return space if space.in_vnet else Space.NODE_SUBNET


def largest_fit(
    mode: str, prefix: int, max_pods: int, pods_per_node: int, *, pod_cidr_prefix: int = 16
) -> tuple[int, int, str]:
    """(nodes, pods, what limits them) a subnet of ``prefix`` holds in ``mode`` with
    ``pods_per_node`` pods on each node, in one cluster: the subnet is the one of
    :func:`limiting_space`; a pod CIDR of ``pod_cidr_prefix`` and the mode's nodes per
    cluster cap it too."""
    spec = mode_spec(mode)
    pods = min(pods_per_node, max_pods)
    subnet = limiting_space(mode)
    limits = []
    for take in spec.takes(NodeLoad(max_pods, pods)):
        if take.space is subnet:
            limits.append((_capacity(take, prefix) // take.units, f"{subnet.label} /{prefix}"))
        elif not take.space.in_vnet:
            fit = _capacity(take, pod_cidr_prefix) // take.units
            limits.append((fit, f"{take.space.label} /{pod_cidr_prefix}"))
    limits.append((spec.max_nodes, f"{spec.max_nodes} nodes per cluster"))
    nodes, limit = min(limits, key=lambda item: item[0])
    return nodes, nodes * pods, limit
