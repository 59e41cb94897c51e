"""Binding pending pods to Ready nodes, as kube-scheduler would for these pods.

Filters: the node is Ready, in the pod's node pool (any pool of the cluster when the
workload names none), and has fewer pods than its max pods (system pods count).
Score: the emptiest node wins (spread); ties go to the oldest node, so runs repeat.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from .entities import Node, Pod

__all__ = ["SpreadIndex", "schedule"]


class SpreadIndex:
    """The emptiest node with room, per node pool and for the whole cluster.

    One lazy min-heap of ``(pods, node index, node)`` per pool and one for any pool: an
    entry is pushed whenever a node's pod count or readiness changes, and entries that no
    longer match the node are dropped when they reach the top. Picking is O(log n)
    instead of a scan of every node for every pod.
    """

    def __init__(self, pools: Iterable[str]) -> None:
        self._heaps: dict[str | None, list[tuple[int, int, Node]]] = {None: []}
        for pool in pools:
            self._heaps[pool] = []

    def update(self, node: Node) -> None:
        """Record ``node``'s current pod count (call after every change)."""
        if node.ready and len(node.pods) < node.max_pods:
            entry = (len(node.pods), node.index, node)
            heapq.heappush(self._heaps[node.pool], entry)
            heapq.heappush(self._heaps[None], entry)

    def pick(self, pool: str | None) -> Node | None:
        """The emptiest Ready node with room in ``pool`` (any pool for ``None``)."""
        heap = self._heaps[pool]
        while heap:
            count, _, node = heap[0]
            if node.ready and count == len(node.pods) and count < node.max_pods:
                return node
            heapq.heappop(heap)
        return None


def schedule(pending: Iterable[Pod], index: SpreadIndex) -> list[tuple[Pod, Node]]:
    """Choose a node for each pending pod that fits (FIFO); pods that fit nowhere wait.

    Each chosen node gets the pod added to its pods at once, so the next choice sees the
    slot taken; returns the bindings in order.
    """
    bindings: list[tuple[Pod, Node]] = []
    full: set[str | None] = set()
    for pod in pending:
        key = pod.pool
        if key in full or None in full:
            continue
        node = index.pick(key)
        if node is None:
            full.add(key)
            continue
        node.pods.add(pod)
        index.update(node)
        bindings.append((pod, node))
    return bindings
