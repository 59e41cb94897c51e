"""The documented sizing formulas, as pure functions (``ipsim calc``, ``ipsim chart capacity``).

Reference: reference/azure-cni.md §1 (5 reserved addresses per subnet), §2 (traditional:
``(nodes + surge) × (1 + max pods)``), §5–7 (dynamic: a node settles at
``B·ceil(0.5 + U/B)`` secondaries plus its primary, so 8 to 24 idle addresses per node)
and §8 (static blocks: ``ceil((max pods + 1) / 16)`` /28 blocks per node).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = [
    "MODES",
    "SubnetNeed",
    "calculate",
    "dynamic_holding",
    "largest_fit",
    "smallest_prefix",
    "static_blocks",
    "usable",
]

#: Azure reserves the network address, the gateway, two DNS addresses and the last one.
RESERVED = 5
MIN_PREFIX, MAX_PREFIX = 8, 29
MODES = ("traditional", "dynamic", "static-block")


def usable(prefix: int) -> int:
    """Addresses a subnet of this prefix length offers: 2^(32 − prefix) − 5."""
    return 2 ** (32 - prefix) - RESERVED


def smallest_prefix(addresses: int) -> int | None:
    """The longest prefix (smallest subnet) with at least ``addresses`` usable; None if
    even a /8 is too small."""
    for prefix in range(MAX_PREFIX, MIN_PREFIX - 1, -1):
        if usable(prefix) >= addresses:
            return prefix
    return None


def dynamic_holding(pods_per_node: int, max_pods: int, batch: int = 16, request: int = 50) -> int:
    """Pod-subnet addresses a node with ``pods_per_node`` pods settles at: the smallest
    whole number of batches leaving at least minFree free, capped at max pods, + 1
    primary."""
    min_free = int(float(batch) * (request / 100) + 0.5)
    secondaries = batch * math.ceil((pods_per_node + min_free) / batch)
    return min(secondaries, max_pods) + 1


def static_blocks(max_pods: int) -> int:
    """/28 blocks a node takes in static block mode: room for max pods + 1."""
    return math.ceil((max_pods + 1) / 16)


def _static_prefix(blocks: int) -> int | None:
    # A subnet of prefix p holds 2^(28 − p) blocks; the first and the last hold reserved
    # addresses, so they are not handed out (an assumption; see docs/model.md).
    for prefix in range(min(MAX_PREFIX, 27), MIN_PREFIX - 1, -1):
        if 2 ** (28 - prefix) - 2 >= blocks:
            return prefix
    return None


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
    total = nodes + surge
    if mode == "traditional":
        need = total * (1 + max_pods)
        prefix = smallest_prefix(need)
        return [
            SubnetNeed(
                "node",
                need,
                prefix,
                usable(prefix) if prefix else None,
                f"({nodes} + {surge}) × (1 + {max_pods})",
            )
        ]
    node_prefix = smallest_prefix(total)
    node = SubnetNeed(
        "node", total, node_prefix, usable(node_prefix) if node_prefix else None, "1 per node"
    )
    if mode == "dynamic":
        pods = max_pods if pods_per_node is None else min(pods_per_node, max_pods)
        each = dynamic_holding(pods, max_pods, batch)
        need = total * each
        prefix = smallest_prefix(need)
        idle = f"idle band {8 * total}..{24 * total} for {total} nodes"
        return [
            node,
            SubnetNeed(
                "pod",
                need,
                prefix,
                usable(prefix) if prefix else None,
                f"{total} × {each} ({pods} pods per node); {idle}",
            ),
        ]
    if mode == "static-block":
        blocks = static_blocks(max_pods)
        need = total * blocks * 16
        prefix = _static_prefix(total * blocks)
        return [
            node,
            SubnetNeed(
                "pod",
                need,
                prefix,
                usable(prefix) if prefix else None,
                f"{total} × {blocks} /28 blocks",
            ),
        ]
    raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")


def largest_fit(mode: str, prefix: int, max_pods: int, pods_per_node: int) -> tuple[int, int]:
    """(nodes, pods) a subnet of ``prefix`` holds in ``mode`` with ``pods_per_node`` pods
    on each node: the node subnet for traditional, the pod subnet otherwise."""
    pods = min(pods_per_node, max_pods)
    if mode == "traditional":
        nodes = max(usable(prefix), 0) // (1 + max_pods)
    elif mode == "dynamic":
        nodes = max(usable(prefix), 0) // dynamic_holding(pods, max_pods)
    elif mode == "static-block":
        blocks = max(2 ** (28 - prefix) - 2, 0) if prefix <= 28 else 0
        nodes = blocks // static_blocks(max_pods)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return nodes, nodes * pods
