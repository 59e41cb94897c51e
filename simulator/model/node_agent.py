"""The node agent (CNS): ingests NNC status, programs addresses, runs pool monitor v1.

Reference: reference/azure-cni.md §4–5. CNS reconciles on a 1 s ticker and whenever a new
NNC status arrives. A reconcile whose inputs have not changed since the last one decides
nothing, so instead of an event every second per node the model schedules a tick only
at the next ticker instant after something changed. Ticks run after every other event of
their instant, so that both ways see the same state; ``literal_tick`` runs the real
ticker for tests that prove the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy

from ..cni.base import ModelContext
from ..pool_monitor import Action, PoolCounts, Scaler, decide_v1
from .control_plane import ControlPlane, NncState
from .entities import Node

__all__ = ["NodeAgent"]

#: SimPy runs lower priorities first at one instant (URGENT 0, NORMAL 1): ticks come last.
TICK_PRIORITY = 2


class _Tick(simpy.Event):
    """An event that fires after every normal event of its instant."""

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, TICK_PRIORITY, max(delay, 0.0))


class TickBus:
    """Runs the monitor ticks due at one instant together, in a fixed node order.

    Ticks of different nodes at the same instant can compete for the same subnet (their
    spec patches reach the control plane in this order), so the order must not depend
    on how the ticks were scheduled.
    """

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._due: dict[float, list[NodeAgent]] = {}

    def at(self, when: float, agent: NodeAgent) -> None:
        """Run ``agent``'s tick at ``when``."""
        due = self._due.get(when)
        if due is None:
            due = self._due[when] = []
            _Tick(self.env, when - self.env.now).callbacks.append(lambda _e: self._fire(when))
        due.append(agent)

    def _fire(self, when: float) -> None:
        for agent in sorted(self._due.pop(when), key=lambda a: a.order):
            agent.on_tick()


class NodeAgent:
    """CNS on one node of a dynamic cluster."""

    def __init__(
        self,
        ctx: ModelContext,
        node: Node,
        control_plane: ControlPlane,
        record: Callable[[Node], None],
    ) -> None:
        self.ctx = ctx
        self.node = node
        self.control_plane = control_plane
        self.record = record
        ipam = ctx.cluster.ipam
        self.scaler = Scaler(
            ipam.batch_size,
            ipam.request_threshold_percent,
            ipam.release_threshold_percent,
            node.max_pods,
        ).clamped()
        self.interval = ctx.cluster.timings.monitor_interval
        self.programming = ctx.cluster.timings.ip_programming
        self.started_s = ctx.env.now
        self.order = (ctx.order, node.index)
        self.initialized = False  # CNS waits for its first NNC before reconciling
        self._next_k: int | None = None  # ticker instant scheduled
        self._last_k = 0  # last ticker instant processed
        if ctx.literal_tick:
            self._schedule(1)

    @property
    def nnc(self) -> NncState:
        return self.node.cni

    # --- time ---------------------------------------------------------------------

    def _schedule(self, k: int) -> None:
        self._next_k = k
        self.ctx.ticks.at(self.started_s + k * self.interval, self)

    def touch(self) -> None:
        """Something the monitor reads changed: make sure the next ticker instant runs."""
        if self._next_k is not None or not self.node.alive:
            return
        k = max(1, math.ceil((self.ctx.env.now - self.started_s) / self.interval - 1e-9))
        self._schedule(max(k, self._last_k + 1))

    def on_tick(self) -> None:
        """A ticker instant: reconcile once the first NNC has arrived."""
        assert self._next_k is not None
        self._last_k, self._next_k = self._next_k, None
        if not self.node.alive:
            return
        if self.ctx.literal_tick:  # the real ticker fires every interval, changed or not
            self._schedule(self._last_k + 1)
        if self.initialized:
            self.reconcile()

    # --- NNC status ---------------------------------------------------------------

    def ingest(self, added: list[int], removed: list[int]) -> None:
        """A new NNC status: forget released addresses, program new ones, reconcile."""
        ips = self.node.ips
        if removed:
            ips.remove(removed)
        if added:
            ips.add_pending_programming(added)
            self.ctx.after(self.programming, self._programmed, added)
        self.initialized = True
        self.record(self.node)
        self.reconcile()

    def _programmed(self, added: list[int]) -> None:
        if not self.node.alive:
            return
        if self.node.ips.program(added):
            if self.node.first_ips_s is None:
                self.node.first_ips_s = self.ctx.env.now
            self.record(self.node)

    # --- pool monitor v1 ----------------------------------------------------------

    def reconcile(self) -> None:
        """One pass of pool monitor v1: decide, then write the NNC spec if needed."""
        nnc = self.nnc
        ips = self.node.ips
        decision = decide_v1(
            self.scaler,
            PoolCounts(
                requested=nnc.requested,
                assigned=len(ips.assigned),
                held=ips.held,
                pending_release=len(ips.pending_release),
                not_in_use=len(nnc.not_in_use),
            ),
        )
        if decision.action is Action.NONE:
            return
        if decision.action is Action.INCREASE:
            nnc.requested = decision.requested
        elif decision.action is Action.DECREASE:
            marked = ips.mark_pending_release(decision.release)
            nnc.requested -= len(marked)
            nnc.not_in_use = set(ips.pending_release)
        else:  # CLEANUP: the control plane removed released addresses
            nnc.not_in_use = set(ips.pending_release)
        self.record(self.node)
        self.control_plane.spec_changed(self.node)
        self.touch()
