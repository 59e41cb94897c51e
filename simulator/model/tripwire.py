"""Stopping a run as soon as it has failed its checks (``ipsim plan``'s candidate runs).

The tripwire is told of the events that can fail a check, when they happen: a VM not
created, a node's first batch refused, an operation refused (the recorder passes these
on), and a pod's first failed CNI ADD, which arms one timed call at the instant the pod
would have waited longer than ``checks.max_ip_wait``. Each tells the judge of
:mod:`simulator.scenario.checks` the figures so far; once it finds a reason, the run
stops at that instant. Nothing is polled: the cost is one call per such event.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy
from simpy.core import URGENT

from simulator.scenario.checks import REFUSALS, Checks, Figures, judge

if TYPE_CHECKING:
    from simulator.model.entities import Node, Pod

__all__ = ["RunStopped", "Tripwire"]


class RunStopped(Exception):
    """Raised by the stop event; the world catches it and ends the run there."""


class Tripwire:
    """Counts what the live checks limit and stops the run when the judge says so."""

    #: Recorder event kinds the tripwire is told of.
    kinds = frozenset({"node_failed", "subnet_full", *REFUSALS})

    def __init__(self, env: simpy.Environment, checks: Checks, end: float) -> None:
        self.env = env
        self.checks = checks
        self.end = end
        self.vms_failed = 0
        self.first_batch_refused: set[Node] = set()
        self.operations_refused = 0
        self.pods_over_wait = 0
        self.longest_ip_wait_s = 0.0
        self.reasons: list[str] = []
        self.stopped_at_s: float | None = None

    def saw(self, kind: str, node: Node | None) -> None:
        """The recorder wrote an event of one of :attr:`kinds`."""
        if kind == "node_failed":
            self.vms_failed += 1
        elif kind in REFUSALS:
            self.operations_refused += 1
        elif node is not None and node.first_batch_refused:
            self.first_batch_refused.add(node)
        else:
            return
        self._judge()

    def pod_waiting(self, pod: Pod) -> None:
        """``pod``'s first CNI ADD found no address: check it once its wait would be
        longer than allowed (just after that instant, so an address given at the very
        instant still counts as in time)."""
        limit = self.checks.max_ip_wait
        if limit is None or pod.scheduled_s is None:
            return
        deadline = pod.scheduled_s + limit
        if deadline >= self.end:
            return  # the run ends first: its wait is judged at the end
        delay = math.nextafter(deadline, math.inf) - self.env.now
        self.env.timeout(delay).callbacks.append(lambda _event: self._overdue(pod))

    def _overdue(self, pod: Pod) -> None:
        if pod.ip is not None or pod.deleted_s is not None:
            return
        assert pod.scheduled_s is not None
        self.pods_over_wait += 1
        self.longest_ip_wait_s = max(self.longest_ip_wait_s, self.env.now - pod.scheduled_s)
        self._judge()

    def figures(self) -> Figures:
        return Figures(
            vms_failed=self.vms_failed,
            first_batch_refused=len(self.first_batch_refused),
            operations_refused=self.operations_refused,
            pods_over_wait=self.pods_over_wait,
            longest_ip_wait_s=self.longest_ip_wait_s,
        )

    def _judge(self) -> None:
        if self.stopped_at_s is not None:
            return
        reasons = judge(self.figures(), self.checks)
        if reasons:
            self.reasons = reasons
            self.stopped_at_s = self.env.now
            # Stop from an event of its own: the caller may be inside a SimPy process.
            stop = simpy.Event(self.env)
            stop.callbacks.append(_stop)
            stop._ok = True
            stop._value = None
            self.env.schedule(stop, URGENT, 0)


def _stop(_event: simpy.Event) -> None:
    raise RunStopped
