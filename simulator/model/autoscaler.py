"""The cluster autoscaler, for node pools with ``autoscaler: {min, max}``.

It follows the upstream cluster autoscaler with AKS's default profile: every scan
interval it adds nodes for pods the scheduler could not place (counting nodes still
provisioning as room), and removes a node whose pods' requests stay below the
utilisation threshold for the unneeded time, if its pods fit on the other nodes and
the pool stays at or above its minimum. Like the real one it knows nothing of pod IPs:
a pod bound to a Ready node but waiting for an address is not unschedulable, so it never
triggers a scale-up. Scans happen only at scan instants after something changed, or
when an unneeded timer is due, never as a blind 10 s loop.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from simulator.core.vm_sizes import pool_allocatable, pool_gpus
from simulator.model.clock import POLL_PRIORITY, LateEvent
from simulator.model.entities import Node, Pod
from simulator.scenario.models import AutoscalerProfile, NodePool

if TYPE_CHECKING:
    from simulator.model.cluster import ClusterRuntime

__all__ = ["ClusterAutoscaler"]


class _Bin:
    """Room left on a (real or imagined) node while packing pods onto it."""

    __slots__ = ("cpu", "mem", "slots")

    def __init__(self, slots: int, cpu: float, mem: float) -> None:
        self.slots, self.cpu, self.mem = slots, cpu, mem

    def take(self, pod: Pod) -> bool:
        if self.slots < 1 or pod.cpu > self.cpu or pod.mem > self.mem:
            return False
        self.slots -= 1
        self.cpu -= pod.cpu
        self.mem -= pod.mem
        return True


class _Backoff:
    """Upstream's exponential back-off of one node group after failed scale-ups."""

    __slots__ = ("blocked", "last_failure", "next", "reported", "until")

    def __init__(self) -> None:
        self.until = -math.inf  # no scale-up of the pool before this instant
        self.next = 0.0  # the next back-off's length (0: the initial one)
        self.last_failure = -math.inf
        self.reported = False  # NotTriggerScaleUp recorded for this back-off
        self.blocked = 0  # pods the last scan could place only on this pool


class ClusterAutoscaler:
    """Scale-up for unschedulable pods, scale-down of unneeded nodes, in one cluster."""

    def __init__(self, cluster: ClusterRuntime, profile: AutoscalerProfile) -> None:
        self.cluster = cluster
        self.env = cluster.env
        self.profile = profile
        self.pools: dict[str, NodePool] = {
            p.name: p for p in cluster.pools.values() if p.autoscaler is not None
        }
        self.unneeded_since: dict[Node, float] = {}
        self.last_scale_up = -math.inf
        self.removing: set[Node] = set()
        self.backoff: dict[str, _Backoff] = {}
        self._scan_at: float | None = None

    def pool_changed(self, pool: NodePool) -> None:
        """``pool`` has new bounds (or has just been given some). AKS applies them by
        restarting the autoscaler, whose back-off state lives in memory: the pool's
        back-off ends (an assumption; see docs/model.md)."""
        self.pools[pool.name] = pool
        self.backoff.pop(pool.name, None)
        self._wake(self.env.now)

    # --- when to look -------------------------------------------------------------

    def unschedulable(self) -> None:
        if self.pools:  # none until a ``set_autoscaler`` gives a pool bounds
            self._wake(self.env.now)

    def usage_changed(self, node: Node) -> None:
        if node.pool in self.pools:
            self._wake(self.env.now)

    def node_ready(self, node: Node) -> None:
        if node.pool in self.pools:
            self._wake(self.env.now)

    def _wake(self, after: float) -> None:
        """Scan at the first scan instant at or after ``after``."""
        interval = self.profile.scan_interval
        when = math.ceil(after / interval - 1e-9) * interval
        if self._scan_at is not None and self._scan_at <= when:
            return
        self._scan_at = when
        LateEvent(self.env, when - self.env.now, POLL_PRIORITY).callbacks.append(
            lambda _e, at=when: self._scan(at)
        )

    def _scan(self, at: float) -> None:
        if self._scan_at != at:
            return  # superseded by an earlier scan
        self._scan_at = None
        now = self.env.now
        if self.cluster.pending:
            retry = self._scale_up()
            if self.cluster.pending:  # still waiting: look again next interval
                # (or, when only backed-off pools could help, when their back-off ends)
                self._wake(retry if retry is not None else now + self.profile.scan_interval)
        due = self._scale_down()
        if due is not None:
            self._wake(max(due, now + self.profile.scan_interval))

    # --- capacity -------------------------------------------------------------------

    def _daemon_load(self, pool: NodePool) -> tuple[int, int, int]:
        """Pods, CPU and memory every node of ``pool`` gives to daemon pods."""
        pods, cpu, mem = pool.system_pods_per_node, 0, 0
        for ds in self.cluster.daemonsets:
            if pool.name in ds.pools:
                pods += 1
                cpu += ds.cpu
                mem += ds.mem
        return pods, cpu, mem

    def _template(self, pool: NodePool) -> _Bin:
        """An empty new node of ``pool`` with its daemon pods in place."""
        alloc_cpu, alloc_mem = pool_allocatable(pool)
        pods, cpu, mem = self._daemon_load(pool)
        return _Bin(
            (pool.max_pods or 0) - pods,
            math.inf if alloc_cpu is None else alloc_cpu - cpu,
            math.inf if alloc_mem is None else alloc_mem - mem,
        )

    def _bin_of(self, node: Node) -> _Bin:
        return _Bin(
            node.max_pods - len(node.pods),
            math.inf if node.alloc_cpu is None else node.alloc_cpu - node.used_cpu,
            math.inf if node.alloc_mem is None else node.alloc_mem - node.used_mem,
        )

    def _eligible(self, pod: Pod) -> list[NodePool]:
        if pod.pin is not None and pod.pin.alive:
            return []  # it waits for the node its trace names: a new node is no help
        if pod.pool is not None:
            pools = [self.pools[pod.pool]] if pod.pool in self.pools else []
        elif pod.pools is not None:
            pools = [self.pools[p] for p in pod.pools if p in self.pools]
        else:
            pools = list(self.pools.values())
        if pod.gpu:  # a node without enough GPUs never takes it
            pools = [p for p in pools if (pool_gpus(p) is None or pool_gpus(p) >= pod.gpu)]
        return pools

    # --- scale-up -------------------------------------------------------------------

    def _backed_off(self, pool: str) -> bool:
        state = self.backoff.get(pool)
        return state is not None and self.env.now < state.until

    def _scale_up(self) -> float | None:
        """Add nodes for the pending pods; returns when to look again if nothing could be
        done only because the pools that could help are backed off (else None)."""
        cluster = self.cluster
        # Nodes still provisioning will take some of the pods: fill them first.
        upcoming: dict[str, list[_Bin]] = {}
        for name, pool in self.pools.items():
            for node in cluster.live_nodes(name):
                if node.ready_s is None:
                    upcoming.setdefault(name, []).append(self._template(pool))
        wanted: dict[str, list[_Bin]] = {}
        for state in self.backoff.values():
            state.blocked = 0
        for pod in list(cluster.pending):
            pools = self._eligible(pod)
            if any(b.take(pod) for p in pools for b in upcoming.get(p.name, [])):
                continue
            if self._plan(pod, [p for p in pools if not self._backed_off(p.name)], wanted):
                continue
            for pool in pools:  # upstream skips a backed-off group: the pod waits
                if self._backed_off(pool.name):
                    self.backoff[pool.name].blocked += 1
        acted = False
        for name, bins in wanted.items():
            if not bins:
                continue
            acted = True
            live = cluster.live_nodes(name)
            if not cluster.scale_pool(name, len(live) + len(bins), reason="autoscaler_scale_up"):
                self._back_off(name)
                continue
            self.last_scale_up = self.env.now
            limit = self.profile.max_node_provision_time
            if cluster.timings.node_provision > limit:
                before = set(live)
                fresh = [n for n in cluster.live_nodes(name) if n not in before]
                cluster.ctx.after(limit, self._provision_timeout, name, fresh)
        return self._report_backoffs(acted)

    def _plan(self, pod: Pod, pools: list[NodePool], wanted: dict[str, list[_Bin]]) -> bool:
        """Put ``pod`` on a planned new node of the first pool that can take it."""
        for pool in pools:  # expander: the first pool that can take it
            bins = wanted.setdefault(pool.name, [])
            if any(b.take(pod) for b in bins):
                return True
            live = len(self.cluster.live_nodes(pool.name))
            assert pool.autoscaler is not None
            if live + len(bins) >= pool.autoscaler.max:
                continue
            fresh = self._template(pool)
            if fresh.take(pod):
                bins.append(fresh)
                return True
        return False

    def _back_off(self, pool: str) -> None:
        """A scale-up of ``pool`` failed: no scale-up of it for the back-off, which
        doubles with each failure up to the maximum and starts afresh after the reset
        timeout without failures (upstream's exponential back-off)."""
        profile = self.profile
        now = self.env.now
        state = self.backoff.setdefault(pool, _Backoff())
        if now - state.last_failure > profile.node_group_backoff_reset_timeout:
            state.next = 0.0
        length = state.next or profile.initial_node_group_backoff_duration
        state.until = now + length
        state.next = min(2 * length, profile.max_node_group_backoff_duration)
        state.last_failure = now
        state.reported = False
        self.cluster.ctx.recorder.event(
            "autoscaler_backoff",
            f"scale-up failed: node group in back-off for {length:g}s, until {state.until:g}s",
            cluster=self.cluster.spec.name,
            node_pool=pool,
        )

    def _report_backoffs(self, acted: bool) -> float | None:
        """Record ``NotTriggerScaleUp`` once per back-off for the pods waiting on it."""
        retry: float | None = None
        for name, state in self.backoff.items():
            if not state.blocked or not self._backed_off(name):
                continue
            retry = state.until if retry is None else min(retry, state.until)
            if not state.reported:
                state.reported = True
                self.cluster.ctx.recorder.event(
                    "not_trigger_scale_up",
                    f"NotTriggerScaleUp: pod didn't trigger scale-up: 1 in backoff after "
                    f"failed scale-up ({state.blocked} pending pods, until {state.until:g}s)",
                    cluster=self.cluster.spec.name,
                    node_pool=name,
                )
        return None if acted else retry

    def _provision_timeout(self, pool: str, nodes: list[Node]) -> None:
        """``max_node_provision_time`` after a scale-up: nodes not yet Ready count as a
        failed scale-up; they are deleted and the pool backs off (as upstream)."""
        late = [n for n in nodes if n.alive and n.ready_s is None]
        if not late:
            return
        for node in late:
            self.cluster.remove_node(node)
        self._back_off(pool)
        self._wake(self.env.now)

    # --- scale-down -----------------------------------------------------------------

    def utilization(self, node: Node) -> float:
        """Requested share of the node: the larger of CPU and memory, or of max pods when
        its pods request no resources (an assumption; see docs/model.md)."""
        shares = [
            used / alloc
            for used, alloc in ((node.used_cpu, node.alloc_cpu), (node.used_mem, node.alloc_mem))
            if alloc and (node.used_cpu or node.used_mem)
        ]
        if shares:
            return max(shares)
        return len(node.pods) / max(node.max_pods, 1)

    def _movable(self, node: Node, nodes: list[Node]) -> bool:
        """Whether the node's non-daemon pods fit on the other ``nodes``."""
        pods = [p for p in node.pods if not p.system and p.deleted_s is None]
        if not pods:
            return True
        bins = [self._bin_of(o) for o in nodes if o is not node]
        return all(any(b.take(p) for b in bins) for p in sorted(pods, key=lambda p: p.seq))

    def _scale_down(self) -> float | None:
        """Remove unneeded nodes that are due; returns when the next timer is due."""
        cluster = self.cluster
        now = self.env.now
        profile = self.profile
        # In the cooldown after a scale-up no node goes, but the unneeded timers still
        # follow the nodes (as upstream): a node busy meanwhile starts afresh.
        resume = self.last_scale_up + profile.scale_down_delay_after_add
        cooldown = now < resume
        next_due: float | None = resume if cooldown else None
        removed_busy = False
        for name, pool in self.pools.items():
            assert pool.autoscaler is not None
            live = cluster.live_nodes(name)
            ready = [n for n in live if n.schedulable and n not in self.removing]
            count = len(live) - sum(n in self.removing for n in live)
            for node in ready:
                low = self.utilization(node) < profile.scale_down_utilization_threshold
                if low and self._movable(node, ready):
                    self.unneeded_since.setdefault(node, now)
                else:
                    self.unneeded_since.pop(node, None)
            if cooldown:
                continue
            # Empty nodes go first (upstream deletes them before draining any node).
            for node in sorted(
                ready,
                key=lambda n: (
                    any(not p.system for p in n.pods),
                    self.unneeded_since.get(n, math.inf),
                    n.index,
                ),
            ):
                since = self.unneeded_since.get(node)
                if since is None:
                    continue
                due = since + profile.scale_down_unneeded_time
                if due > now:
                    next_due = due if next_due is None else min(next_due, due)
                    continue
                if count <= pool.autoscaler.min:
                    break
                busy = any(not p.system for p in node.pods)
                if busy and removed_busy:
                    next_due = now if next_due is None else min(next_due, now)
                    continue
                removed_busy |= busy
                count -= 1
                self._remove(node, busy)
        return next_due

    def _remove(self, node: Node, busy: bool) -> None:
        cluster = self.cluster
        self.unneeded_since.pop(node, None)
        self.removing.add(node)
        cluster.ctx.recorder.node_event(
            node,
            "autoscaler_scale_down",
            f"utilization {self.utilization(node):.0%} below "
            f"{self.profile.scale_down_utilization_threshold:.0%} for "
            f"{self.profile.scale_down_unneeded_time:g}s",
        )
        delay = cluster.timings.node_delete
        if busy:
            cluster.drain_node(node)
            delay += cluster.timings.node_drain
        else:
            node.cordon()
            cluster.index.update(node)
        cluster.ctx.after(delay, self._delete, node)

    def _delete(self, node: Node) -> None:
        self.removing.discard(node)
        if node.alive:
            self.cluster.remove_node(node)
