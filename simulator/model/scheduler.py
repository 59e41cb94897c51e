"""Binding pending pods to Ready nodes, as kube-scheduler would for these pods.

Filters: the node is Ready, in the pod's node pool (any pool of the cluster when the
workload names none), and has fewer pods than its max pods (system pods count).
Score: the emptiest node wins (spread); ties go to the oldest node, so runs repeat.
"""

from __future__ import annotations

from collections.abc import Iterable

from .entities import Node, Pod

__all__ = ["pick_node", "schedule"]


def pick_node(nodes: Iterable[Node]) -> Node | None:
    """The emptiest Ready node with room, oldest first on ties."""
    best: Node | None = None
    for node in nodes:
        if not node.ready or len(node.pods) >= node.max_pods:
            continue
        if best is None or (len(node.pods), node.index) < (len(best.pods), best.index):
            best = node
    return best


def schedule(
    pending: Iterable[Pod], nodes_for: dict[str | None, list[Node]]
) -> list[tuple[Pod, Node]]:
    """Choose a node for each pending pod that fits (FIFO); pods that fit nowhere wait.

    ``nodes_for`` maps a node pool name (``None`` for any pool) to its nodes. Each chosen
    node gets the pod added to its pods at once, so the next choice sees the slot taken;
    returns the bindings in order.
    """
    bindings: list[tuple[Pod, Node]] = []
    full: set[str | None] = set()
    for pod in pending:
        key = pod.pool
        if key in full or None in full:
            continue
        node = pick_node(nodes_for.get(key, []))
        if node is None:
            full.add(key)
            continue
        node.pods.add(pod)  # reserve the slot now so the next pick sees it
        bindings.append((pod, node))
    return bindings
