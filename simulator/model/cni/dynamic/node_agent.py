"""The node agent (CNS): ingests NNC status, programs addresses, runs a pool monitor.

Reference: reference/azure-cni.md §4–7. Pool monitor v1 reconciles on a 1 s ticker and
whenever a new NNC status arrives; v2 reconciles on demand, NNC and exhaustion changes.
A v1 reconcile whose inputs have not changed since the last one decides nothing, so
instead of an event every second per node the model schedules a tick only at the next
ticker instant after something changed. Ticks run after every other event of
their instant, so that both ways see the same state; ``literal_tick`` runs the real
ticker for tests that prove the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from simulator.core.pool_monitor import Action, PoolCounts, Scaler, ScalerV2, decide_v1, decide_v2
from simulator.model.cni.dynamic.control_plane import ControlPlane, NncState
from simulator.model.context import ModelContext
from simulator.model.entities import Node

__all__ = ["NodeAgent", "NodeAgentV2"]

#: v2 re-lists the node's pods on a pod change at most this often (seconds).
DEMAND_RELIST_INTERVAL = 0.5
#: v2 reconciles at least this often even when nothing changes (seconds).
MAX_RECONCILE_DELAY = 60.0


class _Agent:
    """What both pool monitors share: the NNC status CNS ingests and programming."""

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
        # Both monitors clamp alike for the values a scenario can hold (batch ≤ max pods).
        self.scaler = Scaler(
            ipam.batch_size,
            ipam.request_threshold_percent,
            ipam.release_threshold_percent,
            node.max_pods,
        ).clamped()
        self.programming = ctx.cluster.timings.ip_programming
        self.started_s = ctx.env.now
        self.order = (ctx.order, node.index)
        self.initialized = False  # CNS waits for its first NNC before reconciling
        assert node.pod_subnet is not None
        self.exhausted = node.pod_subnet.exhausted

    @property
    def nnc(self) -> NncState:
        return self.node.cni

    # --- inputs -------------------------------------------------------------------

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
            if self.ctx.on_available is not None:
                self.ctx.on_available(self.node)

    def set_exhausted(self, flag: bool) -> None:
        """The subnet's exhausted flag changed (ClusterSubnetState update)."""
        self.exhausted = flag
        self.record(self.node)

    def ips_changed(self) -> None:
        """A pod took or gave back an address."""

    def demand_changed(self) -> None:
        """A pod was bound to the node or is gone from it."""

    def reconcile(self) -> None:
        raise NotImplementedError

    def _write_spec(self) -> None:
        self.record(self.node)
        self.control_plane.spec_changed(self.node)


class NodeAgent(_Agent):
    """CNS on one node of a dynamic cluster, with pool monitor v1."""

    def __init__(
        self,
        ctx: ModelContext,
        node: Node,
        control_plane: ControlPlane,
        record: Callable[[Node], None],
    ) -> None:
        super().__init__(ctx, node, control_plane, record)
        self.interval = ctx.cluster.timings.monitor_interval
        exhausted = self.scaler.exhausted()
        self._thresholds = {
            False: (self.scaler.min_free, self.scaler.max_free),
            True: (exhausted.min_free, exhausted.max_free),
        }
        self._next_k: int | None = None  # ticker instant scheduled
        self._last_k = 0  # last ticker instant processed
        if ctx.literal_tick:
            self._schedule(1)

    # --- time ---------------------------------------------------------------------

    def _schedule(self, k: int) -> None:
        self._next_k = k
        self.ctx.ticks.at(self.started_s + k * self.interval, self)

    def _would_act(self) -> bool:
        """Whether a reconcile now would change anything: the rules of ``decide_v1`` on the
        current counts, without building the decision. A tick that would decide nothing
        need not run; every change of these counts calls ``touch`` again."""
        if not self.initialized:
            return False  # the first NNC status reconciles by itself
        min_free, max_free = self._thresholds[self.exhausted]
        nnc = self.nnc
        ips = self.node.ips
        assigned = len(ips.assigned)
        if nnc.requested - assigned < min_free:
            return nnc.requested != self.scaler.max_ips
        pending = len(ips.pending_release)
        if ips.held - assigned - pending >= max_free:
            return True
        return len(nnc.not_in_use) != pending

    def touch(self, *, ticks_done: bool = False) -> None:
        """Something the monitor reads changed: make sure the next ticker instant runs,
        if a reconcile there would act.

        ``ticks_done``: the change comes after this instant's ticks (the subnet poll), so
        a ticker instant falling exactly now has already passed."""
        if self._next_k is not None or not self.node.alive or not self._would_act():
            return
        elapsed = (self.ctx.env.now - self.started_s) / self.interval
        k = max(1, math.ceil(elapsed - 1e-9))
        if ticks_done and abs(k - elapsed) < 1e-9:
            k += 1
        self._schedule(max(k, self._last_k + 1))

    # A pod took or gave back an address: the same as any other change (one call less on
    # the path every pod takes).
    ips_changed = touch

    def set_exhausted(self, flag: bool) -> None:
        super().set_exhausted(flag)
        self.touch(ticks_done=True)

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
            exhausted=self.exhausted,
        )
        if decision.action is Action.NONE:
            return
        if decision.action is Action.INCREASE:
            # CNS rebuilds the whole spec: the request and every PendingRelease address.
            nnc.requested = decision.requested
            nnc.not_in_use = set(ips.pending_release)
        elif decision.action is Action.DECREASE:
            marked = ips.mark_pending_release(decision.release)
            nnc.requested -= len(marked)
            nnc.not_in_use = set(ips.pending_release)
        else:  # CLEANUP: the control plane removed released addresses
            nnc.not_in_use = set(ips.pending_release)
        self._write_spec()
        self.touch()


class NodeAgentV2(_Agent):
    """CNS on one node of a dynamic cluster, with pool monitor v2 (reference §6).

    v2 has no 1 s ticker: it reconciles when the node's demand, its NNC or the subnet's
    exhausted flag changes, and at least every 60 s. A reconcile with unchanged inputs is
    a no-op unless the previous one failed to mark addresses for release, so only a
    failure schedules the next 60 s instant.
    """

    def __init__(
        self,
        ctx: ModelContext,
        node: Node,
        control_plane: ControlPlane,
        record: Callable[[Node], None],
    ) -> None:
        super().__init__(ctx, node, control_plane, record)
        self.scaler_v2 = ScalerV2(
            self.scaler.batch, self.scaler.request_threshold_percent, self.scaler.max_ips
        )
        self.demand = 0
        self._last_list = -math.inf
        self._list_queued = False
        self._retry_queued = False
        self._failing = False  # the last reconcile could not mark its release
        if ctx.literal_tick:  # test switch: the real 60 s ticker, changed or not
            self._literal_tick(1)

    def _literal_tick(self, k: int) -> None:
        when = self.started_s + k * MAX_RECONCILE_DELAY - self.ctx.env.now
        self.ctx.after(when, self._on_literal_tick, k)

    def _on_literal_tick(self, k: int) -> None:
        if not self.node.alive:
            return
        self._literal_tick(k + 1)
        if self.initialized:
            self.reconcile()

    def demand_changed(self) -> None:
        """Re-list the node's pods now, or 500 ms after the previous list."""
        if self._list_queued or not self.node.alive:
            return
        self._list_queued = True
        now = self.ctx.env.now
        self.ctx.after(max(self._last_list + DEMAND_RELIST_INTERVAL - now, 0.0), self._relist)

    def _relist(self) -> None:
        self._list_queued = False
        if not self.node.alive:
            return
        self._last_list = self.ctx.env.now
        # Pods bound to the node and not finished, waiting for an address or not;
        # hostNetwork pods need no pod IP and do not count.
        self.demand = self.node.demand
        if self.initialized:
            self.reconcile()

    def set_exhausted(self, flag: bool) -> None:
        super().set_exhausted(flag)
        if self.initialized and self.node.alive:
            self.reconcile()

    def _retry(self) -> None:
        self._retry_queued = False
        if self.node.alive:
            self.reconcile()

    def reconcile(self) -> None:
        """One pass of pool monitor v2: jump to the target in one patch."""
        nnc = self.nnc
        ips = self.node.ips
        decision = decide_v2(
            self.scaler_v2,
            demand=self.demand,
            request=nnc.requested,
            exhausted=self.exhausted,
            not_in_use_synced=nnc.not_in_use == ips.pending_release,
        )
        if decision.release:
            releasable = len(ips.available) + len(ips.pending_programming)
            if releasable < decision.release:
                # All or nothing: nothing is marked, the request stays, retry later.
                if not self._failing:
                    self._failing = True
                    self.ctx.recorder.node_event(
                        self.node,
                        "release_failed",
                        f"pool monitor v2 cannot mark {decision.release} addresses "
                        f"PendingRelease: only {releasable} are unassigned",
                        self.node.pod_subnet.name if self.node.pod_subnet else "",
                    )
                if not self._retry_queued and not self.ctx.literal_tick:
                    self._retry_queued = True
                    elapsed = self.ctx.env.now - self.started_s
                    k = math.floor(elapsed / MAX_RECONCILE_DELAY + 1e-9) + 1
                    self.ctx.after(
                        self.started_s + k * MAX_RECONCILE_DELAY - self.ctx.env.now, self._retry
                    )
                return
            ips.mark_pending_release(decision.release)
        self._failing = False
        if not decision.patch:
            return
        nnc.requested = decision.target
        nnc.not_in_use = set(ips.pending_release)
        self._write_spec()
