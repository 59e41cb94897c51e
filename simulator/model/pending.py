"""Pending pods kept by what they need of a node, so that a scheduling pass costs what
changed since the last one rather than every pending pod times every node.

Pods that fit exactly the same nodes (same pool or pools, requests, pin and group: a
*need*) wait in one FIFO queue. Once no node fits a need, it is *blocked*: only a node
that gains room (a pod gone, a node Ready) can change that, and only for the needs that
may use it, so such a node is noted on those needs (``touched``) and the next pass
looks at those nodes alone. The pass visits pods in the order they were queued, across
needs, skipping blocked needs as the full walk of :func:`~.scheduler.schedule` skips
shapes that found no node: the bindings are the same, pod for pod.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict

from simulator.model.entities import Node, Pod
from simulator.model.scheduler import NodeIndex, choose, need_of, place

__all__ = ["PendingPods"]

#: Empty needs kept for the next pod like theirs (saves making one per pod), at most.
_KEEP = 1024


class _Need:
    """The pending pods of one need, in queue order, and what is known of their nodes."""

    __slots__ = ("blocked", "key", "pin", "pods", "serial", "touched", "uses")

    def __init__(self, key: tuple, pin: Node | None, pod: Pod, serial: int) -> None:
        self.key = key
        self.pin = pin
        self.serial = serial  # creation order: a fixed tie-break in the pass's heap
        self.pods: OrderedDict[Pod, int] = OrderedDict()  # pod -> its place in the queue
        # Where nodes that may fit it are filed: a pinned pod's node, or its pools
        # (None: any pool of the cluster).
        if pin is not None:
            self.uses: tuple[str | None, ...] = ()
        elif pod.pools is not None:
            self.uses = pod.pools
        else:
            self.uses = (pod.pool,)
        self.blocked = False  # no node outside ``touched`` fits it
        self.touched: set[Node] = set()


class PendingPods:
    """The cluster's pending pods, by need."""

    def __init__(self) -> None:
        self._needs: dict[tuple, _Need] = {}
        self._of: dict[Pod, _Need] = {}
        self._queued = 0  # pods queued so far: each pod's place in the FIFO
        self._serial = 0
        self._active: dict[_Need, None] = {}  # needs the next pass must look at
        # Blocked needs by the pools whose nodes may fit them, and by pinned node.
        self._by_pool: dict[str | None, dict[_Need, None]] = {}
        self._by_pin: dict[int, dict[_Need, None]] = {}
        self._pinned: dict[int, dict[_Need, None]] = {}  # every pinned need, by node

    def __len__(self) -> int:
        return len(self._of)

    def add(self, pod: Pod) -> None:
        """A pod waits for a node, after every pod queued before it."""
        self._queued += 1
        self._insert(pod, self._queued, moved=False)

    def _insert(self, pod: Pod, place_: int, *, moved: bool = True) -> None:
        key, pin = need_of(pod)
        need = self._needs.get(key)
        if need is None:
            self._serial += 1
            need = self._needs[key] = _Need(key, pin, pod, self._serial)
            if pin is not None:
                self._pinned.setdefault(pin.index, {})[need] = None
        if not need.blocked:
            self._active[need] = None  # nothing known of its nodes: the pass tries it
        tail = next(reversed(need.pods.values()), 0) if moved else 0
        need.pods[pod] = place_
        if place_ < tail:  # a pod moved from another need (its pin went): keep FIFO
            need.pods = OrderedDict(sorted(need.pods.items(), key=lambda item: item[1]))
        self._of[pod] = need

    def discard(self, pod: Pod) -> None:
        """The pod no longer waits (bound or deleted)."""
        need = self._of.pop(pod, None)
        if need is None:
            return
        del need.pods[pod]
        if not need.pods:
            if need.blocked or need.pin is not None or len(self._needs) > _KEEP:
                self._drop(need)
            else:  # kept, open, for the next pod like these
                self._active.pop(need, None)

    def _drop(self, need: _Need) -> None:
        del self._needs[need.key]
        self._active.pop(need, None)
        if need.blocked:
            self._unfile(need)
        if need.pin is not None:
            pinned = self._pinned[need.pin.index]
            del pinned[need]
            if not pinned:
                del self._pinned[need.pin.index]

    def _file(self, need: _Need) -> None:
        if need.pin is not None:
            self._by_pin.setdefault(need.pin.index, {})[need] = None
        for pool in need.uses:
            self._by_pool.setdefault(pool, {})[need] = None

    def _unfile(self, need: _Need) -> None:
        if need.pin is not None:
            self._by_pin[need.pin.index].pop(need, None)
        for pool in need.uses:
            self._by_pool[pool].pop(need, None)

    # --- what changes -----------------------------------------------------------------

    def room(self, node: Node) -> None:
        """``node`` gained room (a pod left it, or it became Ready): blocked needs that
        may use it look at it in the next pass."""
        for filed in (
            self._by_pool.get(node.pool),
            self._by_pool.get(None),
            self._by_pin.get(node.index),
        ):
            if filed:
                for need in filed:
                    need.touched.add(node)
                    self._active[need] = None

    def node_gone(self, node: Node) -> None:
        """``node`` is deleted: pods pinned to it now need a node of their pool."""
        for need in list(self._pinned.get(node.index, {})):
            pods = list(need.pods.items())
            for pod, _ in pods:
                del self._of[pod]
            need.pods.clear()
            self._drop(need)
            for pod, place_ in pods:
                self._insert(pod, place_)

    # --- a scheduling pass ----------------------------------------------------------------

    def bindings(self, index: NodeIndex) -> list[tuple[Pod, Node]]:
        """Bind what fits now, in queue order (what :func:`~.scheduler.schedule` would
        bind for the same pods); the pods bound leave the queue."""
        heap = [(next(iter(n.pods.values())), n.serial, n) for n in self._active]
        self._active.clear()
        heapq.heapify(heap)
        bound: list[tuple[Pod, Node]] = []
        while heap:
            _, _, need = heapq.heappop(heap)
            pod = next(iter(need.pods))
            node = self._touched_node(need, pod) if need.blocked else choose(pod, need.pin, index)
            if node is None:
                if not need.blocked:
                    need.blocked = True
                    self._file(need)
                continue
            place(pod, node, index)
            bound.append((pod, node))
            self.discard(pod)
            if need.pods:
                heapq.heappush(heap, (next(iter(need.pods.values())), need.serial, need))
        return bound

    @staticmethod
    def _touched_node(need: _Need, pod: Pod) -> Node | None:
        """The best node of those that gained room since ``need`` was blocked (no other
        fits it); nodes that do not fit are forgotten until they gain room again."""
        best = None
        for node in list(need.touched):
            if need.pin is not None:
                fits = node.schedulable and node.fits(pod)
            else:
                fits = node.sched_key is not None and node.fits(pod)
            if not fits:
                need.touched.discard(node)
            elif best is None or node.sched_key < best.sched_key:  # type: ignore[operator]
                best = node
        return best
