"""Kubelet's sandbox retries for pods bound to a node but waiting for an address.

A pod whose CNI ADD fails is retried every ``sandbox_retry`` seconds on its own grid
(its failed try, then each retry, plus the interval), until a try finds an Available
address. Retries due at one instant run before the instant's other events (their
priority sits between SimPy's URGENT and NORMAL), in the order they were scheduled.

A retry can only succeed after an address became Available on the pod's node (a pod's
address released, a batch programmed): until then every retry fails and changes
nothing. So a waiting pod costs nothing while it waits; when an address frees, each of
the node's waiting pods is retried at its next grid instant, exactly as the literal
retry would have done it (``literal`` runs that one, for the tests that prove the two
agree).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy

from simulator.model.clock import TimedCall
from simulator.model.entities import Node, Pod

__all__ = ["RETRY_PRIORITY", "SandboxRetries", "next_retry"]

#: After SimPy's URGENT (0), before NORMAL (1): a retry due at an instant runs before
#: anything else that happens then, as it was scheduled one interval earlier.
RETRY_PRIORITY = 0.5


def next_retry(last: float, at: float, interval: float, after: float) -> tuple[float, float]:
    """The first instant of a retry grid later than ``after``, and the one before it.

    ``last`` is the grid's latest instant so far and ``at`` the next one; each instant is
    computed as SimPy does, by adding ``interval`` to the one before. Within one binade,
    when ``interval`` is a multiple of the spacing of floats there, the sums are exact,
    so a run of steps is taken with one multiplication; only the step across a power of
    two rounds, and it is taken as an addition. The cost is logarithmic in the number
    of steps, not linear."""
    while at <= after:
        if at > 0 and (interval / math.ulp(at)).is_integer():
            top = 2.0 ** math.frexp(at)[1]  # at < top: sums below it stay exact
            k = min(math.ceil((top - at) / interval) - 1, math.floor((after - at) / interval) + 1)
            while k > 0 and at + k * interval >= top:
                k -= 1
            while k > 1 and at + (k - 1) * interval > after:
                k -= 1
            if k > 0:
                last, at = at + (k - 1) * interval, at + k * interval
                continue
        last, at = at, at + interval
    return last, at


class SandboxRetries:
    """The pods of every cluster waiting for an address, and their retries.

    One for the world: retries due at one instant run in the literal retries' order
    whichever cluster they belong to (the retry scheduled earlier first, then the pod
    waiting longer)."""

    def __init__(self, env: simpy.Environment, *, literal: bool = False) -> None:
        self.env = env
        self.literal = literal
        self._clusters: dict[str, tuple[float, Callable[[Pod], None]]] = {}
        self._order: dict[Pod, int] = {}  # waiting pods, by when they first failed
        self._last: dict[Pod, float] = {}  # a parked pod's last failed try
        # Pods with no retry queued: every retry would fail until an address frees.
        self._parked: dict[Node, dict[Pod, None]] = {}
        self._due: dict[float, list[tuple[float, Pod]]] = {}  # retries queued, by instant
        self._seq = 0

    def register(self, cluster: str, interval: float, retry: Callable[[Pod], None]) -> None:
        """A cluster's retry interval and its CNI ADD again (which calls ``failed`` if it
        fails once more)."""
        self._clusters[cluster] = (interval, retry)

    def failed(self, pod: Pod) -> None:
        """CNI ADD found no address for ``pod`` now: kubelet tries again one interval on."""
        if self.literal:
            interval, retry = self._clusters[pod.cluster]
            TimedCall(self.env, interval, retry, (pod,), RETRY_PRIORITY)
            return
        if pod not in self._order:  # its first failure: its place among waiting pods
            self._seq += 1
            self._order[pod] = self._seq
        node = pod.node
        assert node is not None
        self._last[pod] = self.env.now
        self._parked.setdefault(node, {})[pod] = None

    def address_freed(self, node: Node) -> None:
        """An address became Available on ``node`` (in a normal event: this instant's
        retries have run). Its waiting pods are retried at their next grid instants."""
        parked = self._parked.pop(node, None)
        if not parked:
            return
        now = self.env.now
        for pod in parked:
            interval = self._clusters[pod.cluster][0]
            last = self._last.pop(pod)
            last, at = next_retry(last, last + interval, interval, now)
            due = self._due.get(at)
            if due is None:
                due = self._due[at] = []
                TimedCall(self.env, _delay_to(now, at), self._run, (at,), RETRY_PRIORITY)
            due.append((last, pod))

    def forget(self, pod: Pod) -> None:
        """``pod`` no longer waits (deleted, or evicted with its node)."""
        if self._order.pop(pod, None) is None or pod not in self._last:
            return  # not waiting, or a retry is queued: it will find the pod gone
        del self._last[pod]
        node = pod.node
        assert node is not None
        parked = self._parked.get(node)
        if parked is not None:
            parked.pop(pod, None)
            if not parked:
                del self._parked[node]

    def _run(self, at: float) -> None:
        """The retries due now, in the literal retries' order: the one scheduled earlier
        (its previous instant) first, then the pod waiting longer."""
        order = self._order
        due = [(last, order[pod], pod) for last, pod in self._due.pop(at) if pod in order]
        due.sort(key=lambda item: item[:2])
        for _, _, pod in due:
            if pod.deleted_s is not None:
                continue
            self._clusters[pod.cluster][1](pod)
            if pod not in self._last:  # it got its address: no longer waiting
                del order[pod]


def _delay_to(now: float, at: float) -> float:
    """The delay SimPy turns into exactly ``at`` (it schedules at ``now + delay``, and
    ``at - now`` may round)."""
    delay = at - now
    while now + delay < at:
        delay = math.nextafter(delay, math.inf)
    while now + delay > at:
        delay = math.nextafter(delay, -math.inf)
    return delay
