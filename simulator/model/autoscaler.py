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


class ClusterAutoscaler:
    """Scale-up for unschedulable pods, scale-down of unneeded nodes, in one cluster."""

    def __init__(self, cluster: ClusterRuntime, profile: AutoscalerProfile) -> None:
        self.cluster = cluster
        self.env = cluster.env
        self.profile = profile
        self.pools: dict[str, NodePool] = {
            p.name: p for p in cluster.spec.node_pools if p.autoscaler is not None
        }
        self.unneeded_since: dict[Node, float] = {}
        self.last_scale_up = -math.inf
        self.removing: set[Node] = set()
        self._scan_at: float | None = None

    # --- when to look -------------------------------------------------------------

    def unschedulable(self) -> None:
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
            self._scale_up()
            if self.cluster.pending:  # still waiting: look again next interval
                self._wake(now + self.profile.scan_interval)
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

    def _scale_up(self) -> None:
        cluster = self.cluster
        # Nodes still provisioning will take some of the pods: fill them first.
        upcoming: dict[str, list[_Bin]] = {}
        for name, pool in self.pools.items():
            for node in cluster.live_nodes(name):
                if node.ready_s is None:
                    upcoming.setdefault(name, []).append(self._template(pool))
        wanted: dict[str, list[_Bin]] = {}
        for pod in list(cluster.pending):
            pools = self._eligible(pod)
            if any(b.take(pod) for p in pools for b in upcoming.get(p.name, [])):
                continue
            for pool in pools:  # expander: the first pool that can take it
                bins = wanted.setdefault(pool.name, [])
                if any(b.take(pod) for b in bins):
                    break
                live = len(cluster.live_nodes(pool.name))
                assert pool.autoscaler is not None
                if live + len(bins) >= pool.autoscaler.max:
                    continue
                fresh = self._template(pool)
                if fresh.take(pod):
                    bins.append(fresh)
                    break
        for name, bins in wanted.items():
            if not bins:
                continue
            live = len(cluster.live_nodes(name))
            cluster.scale_pool(name, live + len(bins), reason="autoscaler_scale_up")
            self.last_scale_up = self.env.now

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
