"""The documented sizing formulas (``ipsim calc``, ``ipsim chart capacity``), derived from
each mode's per-node rule in the table of CNI modes.

Reference: reference/azure-cni.md §1 (5 reserved addresses per subnet), §2 (traditional:
``(nodes + surge) × (1 + max pods)``), §5–7 (dynamic: a node settles at
``B·ceil(0.5 + U/B)`` secondaries plus its primary, so 8 to 24 idle addresses per node)
and §8 (static blocks: ``ceil((max pods + 1) / 16)`` /28 blocks per node).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from simulator.core.addressing import (
    block_capacity,
    smallest_block_prefix,
    smallest_prefix,
    usable_addresses,
)
from simulator.core.modes import NodeLoad, Space, Take, mode_spec

__all__ = ["SubnetNeed", "calculate", "largest_fit"]


@dataclass(frozen=True)
class SubnetNeed:
    """What one subnet must hold."""

    subnet: str  # "node" or "pod"
    addresses: int
    prefix: int | None
    usable: int | None
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _prefix(take: Take, units: int) -> int | None:
    """The smallest subnet that holds ``units`` of the take."""
    if take.block == 1:
        return smallest_prefix(units)
    return smallest_block_prefix(units, take.block)


def _capacity(take: Take, prefix: int) -> int:
    """Units of the take a subnet of ``prefix`` holds."""
    if take.block == 1:
        return max(usable_addresses(prefix), 0)
    return block_capacity(prefix, take.block)


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
        needs.append(
            SubnetNeed(
                take.space.value,
                units * take.block,
                prefix,
                usable_addresses(prefix) if prefix else None,
                note,
            )
        )
    return needs


def largest_fit(mode: str, prefix: int, max_pods: int, pods_per_node: int) -> tuple[int, int]:
    """(nodes, pods) a subnet of ``prefix`` holds in ``mode`` with ``pods_per_node`` pods
    on each node: the space its pods' addresses come from (the node subnet for
    traditional, the pod subnet otherwise)."""
    spec = mode_spec(mode)
    pods = min(pods_per_node, max_pods)
    (take,) = (t for t in spec.takes(NodeLoad(max_pods, pods)) if t.space is spec.pod_addresses)
    nodes = _capacity(take, prefix) // take.units
    return nodes, nodes * pods
