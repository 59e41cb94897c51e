"""Binding pending pods to Ready nodes, as kube-scheduler would for these pods.

Filters: the node is Ready and not cordoned, in the pod's node pool (any pool of the
cluster when the workload names none; one of a set of pools for a trace's pods; the one
node a trace names, while it lives), has fewer pods than its max pods (daemon pods
count), room for the pod's CPU, memory and GPU requests, and fewer pods of the pod's
group than its per-node cap. Score: ``spread`` prefers the
least allocated node, ``binpack`` the most allocated one; allocation is the share of
max pods taken, or of CPU and memory when the cluster's pods request resources. Ties go
to the oldest node, so runs repeat.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from simulator.model.entities import Node, Pod

__all__ = ["NodeIndex", "choose", "need_of", "place", "schedule"]

#: Allocation shares are compared in millionths, so keys stay exact integers.
_SCALE = 1_000_000
#: A heap key is ``score * _SPAN + node index``: one integer, so heap operations compare
#: plain ints, and ties go to the oldest node.
_SPAN = 1 << 24


class NodeIndex:
    """The best node with room, per node pool and for the whole cluster.

    One lazy heap of integer keys per pool and one for any pool: a key is pushed
    whenever a node's allocation or readiness changes, and keys that no longer match
    their node are dropped when they reach the top. Picking is O(log n) instead of a scan
    of every node for every pod.
    """

    def __init__(self, pools: Iterable[str], strategy: str = "spread") -> None:
        self.binpack = strategy == "binpack"
        self.by_resources = False  # set once some pod requests CPU or memory
        self._heaps: dict[str | None, list[int]] = {None: []}
        names = list(pools)
        for pool in names:
            self._heaps[pool] = []
        if len(names) == 1:  # one pool: its heap is the cluster's heap
            self._heaps[names[0]] = self._heaps[None]
        self._single = len(names) == 1
        self._nodes: dict[int, Node] = {}  # by node index: whose key it is
        self._live_hint = 16  # entries a compacted heap held: the next compaction's yardstick

    def _key(self, node: Node) -> int:
        if self.by_resources:
            shares = [
                used * _SCALE // alloc
                for used, alloc in (
                    (node.used_cpu, node.alloc_cpu),
                    (node.used_mem, node.alloc_mem),
                )
                if alloc
            ]
            score = sum(shares) // len(shares) if shares else 0
        else:
            score = len(node.pods) * _SCALE // max(node.max_pods, 1)
        return (-score if self.binpack else score) * _SPAN + node.index

    def update(self, node: Node) -> None:
        """Record ``node``'s current allocation (call after every change)."""
        if node.schedulable and len(node.pods) < node.max_pods:
            key = self._key(node)
            if key == node.sched_key:
                return
            node.sched_key = key
            self._nodes[node.index] = node
            self._push(self._heaps[node.pool], key)
            if not self._single:
                self._push(self._heaps[None], key)
        else:
            node.sched_key = None

    def _live(self, key: int) -> Node | None:
        """The node whose current key ``key`` is; None for a stale key."""
        node = self._nodes[key % _SPAN]
        return node if node.sched_key == key else None

    def _push(self, heap: list[int], key: int) -> None:
        heapq.heappush(heap, key)
        if len(heap) > 64 and len(heap) > 4 * self._live_hint:
            # Stale keys pile up under churn: keep only each node's current one, so the
            # heap stays proportional to the nodes, not to the pod events.
            heap[:] = sorted({k for k in heap if self._live(k) is not None})
            self._live_hint = max(len(heap), 16)

    def pick(self, pool: str | None, pod: Pod) -> Node | None:
        """The best schedulable node in ``pool`` (any pool for ``None``) that fits ``pod``."""
        heap = self._heaps[pool]
        skipped: list[int] = []
        found = None
        while heap:
            node = self._live(heap[0])
            if node is None:  # stale: the node moved or is unschedulable
                heapq.heappop(heap)
                continue
            if node.fits(pod):
                found = node
                break
            # Room for other pods but not this one's requests: look further down.
            skipped.append(heapq.heappop(heap))
        for key in skipped:
            heapq.heappush(heap, key)
        return found

    def pick_among(self, pools: Iterable[str], pod: Pod) -> Node | None:
        """The best schedulable node that fits ``pod`` in any of ``pools``."""
        best = None
        for pool in pools:
            node = self.pick(pool, pod)
            if node is not None and (best is None or node.sched_key < best.sched_key):
                best = node
        return best

    def rebuild(self, nodes: Iterable[Node]) -> None:
        """Recompute every key (after the scoring basis changed)."""
        for heap in self._heaps.values():
            heap.clear()  # the single pool's heap is cleared twice: harmless
        for node in nodes:
            node.sched_key = None
            self.update(node)


def need_of(pod: Pod) -> tuple[tuple, Node | None]:
    """What ``pod`` needs of a node, as a key shared by every pod that fits exactly the
    same nodes, and the node it is pinned to while that node lives."""
    pin = pod.pin if pod.pin is not None and pod.pin.alive else None
    if pod.pools is None and pin is None and not pod.gpu and not pod.cap:
        return (pod.pool, pod.cpu, pod.mem), None
    return (pod.pool, pod.cpu, pod.mem, pod.gpu, pod.pools, pin and pin.index, pod.group), pin


def choose(pod: Pod, pin: Node | None, index: NodeIndex) -> Node | None:
    """The node ``pod`` goes to now, or None when none fits."""
    if pin is not None:
        # Honour the node it ran on in a trace: that node or none, while it lives.
        return pin if pin.schedulable and pin.fits(pod) else None
    if pod.pools is not None:
        return index.pick_among(pod.pools, pod)
    return index.pick(pod.pool, pod)


def place(pod: Pod, node: Node, index: NodeIndex) -> None:
    """Give ``pod`` its slot and requests on ``node`` at once, so the next choice sees them."""
    node.pods.add(pod)
    node.occupy(pod)
    index.update(node)


def schedule(pending: Iterable[Pod], index: NodeIndex) -> list[tuple[Pod, Node]]:
    """Choose a node for each pending pod that fits (FIFO); pods that fit nowhere wait.

    Each chosen node gets the pod at once, so the next choice sees the slot and the
    resources taken; returns the bindings in order. This walks every pending pod:
    :class:`~simulator.model.pending.PendingPods` gives the same bindings at the cost of
    what changed (the model's way; this one is the reference its tests compare with).
    """
    bindings: list[tuple[Pod, Node]] = []
    full: set[tuple] = set()
    for pod in pending:
        shape, pin = need_of(pod)
        if shape in full:
            continue
        node = choose(pod, pin, index)
        if node is None:
            full.add(shape)
            continue
        place(pod, node, index)
        bindings.append((pod, node))
    return bindings
