"""One cluster at run time: node pools, pods and their lifecycles, the scheduler.

Node provisioning is a SimPy process. Pods are driven by timed callbacks rather than a
process each: a deleted pod's pending callbacks simply find it gone, which keeps a
cancellation a state check and lets many pods stay cheap. Workload controllers
(:mod:`.workloads`) decide which pods exist; this module runs them on nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from simulator.core.addressing import block_prefix
from simulator.core.modes import NodeLoad, Space, mode_spec
from simulator.core.vm_sizes import pool_allocatable, pool_gpus
from simulator.model.cni import CniMode, strategy_for
from simulator.model.context import ModelContext
from simulator.model.entities import Node, Pod
from simulator.model.pending import PendingPods
from simulator.model.preflight import PoolBook, Preflight
from simulator.model.retries import SandboxRetries
from simulator.model.scheduler import NodeIndex, schedule
from simulator.model.streams import Streams
from simulator.model.subnets import SubnetState, pod_cidr_space
from simulator.model.workloads import Controller, controller_for
from simulator.model.workloads.system import SystemPods
from simulator.scenario.models import Autoscaler, Cluster, NodePool, Workload

__all__ = ["ClusterRuntime"]

#: How scale-set messages name the operation behind an event reason.
_OPERATIONS = {"node_pool_scaled": "scale", "autoscaler_scale_up": "autoscaler scale-up"}


class ClusterRuntime:
    """Everything that happens inside one cluster."""

    def __init__(
        self,
        ctx: ModelContext,
        streams: Streams,
        duration: float,
        *,
        preflight: bool = True,
        surge_per_pool: bool = False,
        book: PoolBook | None = None,
        folder: str = ".",
        later_pools: Sequence[NodePool] = (),
    ) -> None:
        """``later_pools``: the pools the timeline adds (``add_node_pool``,
        ``replace_node_pool``), so that every mode and pool is set up from the start."""
        self.ctx = ctx
        self.env = ctx.env
        # The cluster as it stands: ``node_pools`` are the pools that exist now.
        self.spec: Cluster = ctx.cluster
        self.timings = self.spec.timings
        # Pods bound but waiting for an address: kubelet's retries, run when they can work
        # (set before the modes' context is copied from ``ctx``: they call it).
        assert ctx.retries is not None
        self.retries: SandboxRetries = ctx.retries
        self.retries.register(self.spec.name, self.timings.sandbox_retry, self._try_ip)
        ctx.on_available = self.retries.address_freed
        every = [*self.spec.node_pools, *later_pools]
        # One strategy per CNI mode the cluster's pools run (AKS sets a pod-subnet
        # cluster's allocation mode per pool), and the one of each pool. A mode sets up
        # its subnets from the pools it is given: every pool of the run.
        modes_ctx = replace(ctx, cluster=self.spec.model_copy(update={"node_pools": every}))
        self.modes: dict[str, CniMode] = {}
        self._pool_mode: dict[str, CniMode] = {}
        for pool in every:
            name = self.spec.pool_mode(pool)
            if name not in self.modes:
                self.modes[name] = strategy_for(name)(modes_ctx)
            self._pool_mode[pool.name] = self.modes[name]
        self.subnets = ctx.subnets
        self.streams = streams
        self.duration = duration  # the run's end
        self.folder = folder  # files the scenario names are relative to this
        # ``book``: the world's pools, which the check counts where pools share a space.
        self.preflight = (
            Preflight(self, surge_per_pool=surge_per_pool, book=book) if preflight else None
        )
        # Every pool of the run, deleted ones too (their records stay).
        self.pools: dict[str, NodePool] = {p.name: p for p in self.spec.node_pools}
        self.nodes: list[Node] = []
        self.nodes_for: dict[str, list[Node]] = {p.name: [] for p in self.spec.node_pools}
        self.index = NodeIndex([p.name for p in every], self.spec.scheduling)
        self.pods: list[Pod] = []
        self.pending: dict[Pod, None] = {}  # insertion-ordered FIFO of unbound pods
        self.queue = PendingPods()  # the same pods by what they need, for the scheduler
        self.controllers: dict[str, Controller] = {}
        self.daemonsets: list[Controller] = []  # controllers with a pod on every node
        self._system = SystemPods(self)
        self._pod_seq = 0
        self._node_seq: dict[str, int] = {}
        self._schedule_queued = False
        # The cluster autoscaler, set by the world when a pool has autoscaler bounds or a
        # ``set_autoscaler`` action names one of its pools.
        self.autoscaler = None
        self.upgrades: list[dict[str, object]] = []

    # --- node pools ---------------------------------------------------------------

    def start(self) -> None:
        """Create the initial nodes; they are Ready at t = 0 (a running cluster)."""
        for pool in self.spec.node_pools:
            if pool.count and not self.preflight_ok(pool, pool.count, "create"):
                continue
            if self.scale_set_refusal(pool, pool.count, "create") is not None:
                continue
            for _ in range(pool.count):
                self.add_node(pool, provision=0.0)

    def live_nodes(self, pool: str) -> list[Node]:
        return [n for n in self.nodes_for[pool] if n.alive]

    def preflight_ok(
        self, pool: NodePool, nodes: int, operation: str, *, surge: bool = False
    ) -> bool:
        """AKS's ``InsufficientSubnetSize`` check of an operation adding ``nodes`` nodes
        to ``pool`` (``surge``: an upgrade's surge nodes); True when it passes or is off."""
        if self.preflight is None:
            return True
        return self.preflight.allows(pool, nodes, operation, surge=nodes if surge else 0)

    def space_for(self, pool: NodePool, space: Space) -> SubnetState | None:
        """The address space of ``pool``'s nodes that plays ``space``'s part, if any."""
        if space is Space.NODE_SUBNET:
            return self.subnets[pool.node_subnet]
        if space is Space.POD_SUBNET:
            return self.subnets[pool.pod_subnet] if pool.pod_subnet else None
        return self.subnets.get(pod_cidr_space(self.spec.name)) if self.spec.pod_cidr else None

    def _pod_space(self, pool: NodePool) -> SubnetState | None:
        """Where the pool's pods take addresses from, when not its node subnet."""
        space = mode_spec(self.spec.pool_mode(pool)).pod_addresses
        return None if space is Space.NODE_SUBNET else self.space_for(pool, space)

    def scale_pool(self, pool_name: str, count: int, *, reason: str = "node_pool_scaled") -> bool:
        """Set a pool's node count; False when AKS or the scale set refuses it (nothing
        then changes)."""
        pool = self.pools[pool_name]
        live = self.live_nodes(pool_name)
        where = {"cluster": self.spec.name, "node_pool": pool_name}
        # The autoscaler calls the VM scale set directly: AKS's pre-flight check is for
        # operations through the AKS API.
        user = reason == "node_pool_scaled"
        if user and pool.autoscaler is not None:
            # AKS refuses a manual scale of an autoscaler-enabled pool (reference §12).
            self.ctx.recorder.event(
                "scale_refused",
                f"{len(live)} -> {count} nodes refused: the pool has the cluster autoscaler "
                f"enabled ({pool.autoscaler.min}..{pool.autoscaler.max}); change its bounds",
                **where,
            )
            return False
        if (
            user
            and count > len(live)
            and not self.preflight_ok(pool, count - len(live), "scale-up")
        ):
            return False
        if count > len(live) and self.scale_set_refusal(pool, count - len(live), reason):
            return False
        if self.preflight is not None:
            self.preflight.accepted(pool, count)
        self.ctx.recorder.event(reason, f"{len(live)} -> {count} nodes", **where)
        if count > len(live):
            for _ in range(count - len(live)):
                self.add_node(pool, provision=self.timings.node_provision)
        else:
            # Nodes still provisioning go first, then the emptiest; newest on ties.
            victims = sorted(live, key=lambda n: (n.ready_s is not None, len(n.pods), -n.index))
            for node in victims[: len(live) - count]:
                self.remove_node(node)
        return True

    def scale_set_refusal(self, pool: NodePool, vms: int, reason: str) -> str | None:
        """The VM scale set creates ``vms`` new VMs all or nothing (reference §12,
        Azure/AKS#2531): when a space cannot hold them all, none is created, an event
        ``scale_up_failed`` records AKS's message and the message is returned."""
        load = NodeLoad(pool.max_pods or 0, 0, unreserved=pool.host_network_addons)
        for space, units, block in self._pool_mode[pool.name].vm_needs(load):
            state = self.space_for(pool, space)
            if state is None:
                continue
            need = vms * units
            if block == 1:
                free = state.pool.free
                what = f"{need} IP addresses"
            else:
                free = state.pool.free_blocks()  # type: ignore[union-attr]
                what = f"{need} /{block_prefix(block)} blocks"
            if need <= free:
                continue
            state.mark_full()  # the space refused a request, as a failed take does
            message = (
                f"SubnetIsFull: {_OPERATIONS.get(reason, reason)}: failed to increase capacity "
                f"of the scale set to {len(self.live_nodes(pool.name)) + vms}: {space.label} "
                f"{state.name} with address prefix {state.pool.cidr} does not have enough "
                f"capacity for {what} "
                f"({free} free); no VM was created"
            )
            self.ctx.recorder.event(
                "scale_up_failed",
                message,
                cluster=self.spec.name,
                node_pool=pool.name,
                subnet=state.name,
            )
            return message
        return None

    def set_autoscaler(self, pool_name: str, bounds: Autoscaler) -> bool:
        """New autoscaler bounds for a pool (enabling the autoscaler if it had none), after
        AKS's pre-flight check of them; no node moves: the autoscaler works within them."""
        pool = self.pools[pool_name]
        if self.preflight is not None and not self.preflight.allows_bounds(pool, bounds):
            return False
        changed = pool.model_copy(update={"autoscaler": bounds})
        self.pools[pool_name] = changed
        if self.preflight is not None:
            self.preflight.accepted(changed, len(self.live_nodes(pool_name)))
        self.ctx.recorder.event(
            "autoscaler_bounds_set",
            f"min {bounds.min}, max {bounds.max}",
            cluster=self.spec.name,
            node_pool=pool_name,
        )
        assert self.autoscaler is not None  # the world gives it one for this action
        self.autoscaler.pool_changed(changed)
        return True

    def add_pool(self, pool: NodePool, operation: str = "add") -> str | None:
        """Create ``pool`` and its nodes, through the pre-flight check as AKS's node pool
        add is, its VMs all or nothing; what refused it (nothing then changed), or None."""
        self.pools[pool.name] = pool
        self.nodes_for[pool.name] = []
        self.spec = self.spec.model_copy(update={"node_pools": [*self.spec.node_pools, pool]})
        refusal = None
        if pool.count and not self.preflight_ok(pool, pool.count, f"node pool {operation}"):
            refusal = "the pre-flight check"
        elif self.scale_set_refusal(pool, pool.count, f"node pool {operation}") is not None:
            refusal = "the scale set (SubnetIsFull)"
        if refusal is not None:
            self.unlist_pool(pool.name)
            return refusal
        if self.preflight is not None:
            self.preflight.accepted(pool, pool.count)
        if self.autoscaler is not None and pool.autoscaler is not None:
            self.autoscaler.pool_changed(pool)
        for daemonset in self.daemonsets:
            daemonset.pool_added(pool.name)
        self.ctx.recorder.event(
            "node_pool_added",
            f"{pool.count} nodes, max pods {pool.max_pods}, {self.spec.pool_mode(pool)}",
            cluster=self.spec.name,
            node_pool=pool.name,
        )
        for _ in range(pool.count):
            self.add_node(pool, provision=self.timings.node_provision)
        return None

    def unlist_pool(self, name: str) -> None:
        """``name`` is no pool of the cluster any more: no checks count it, no
        autoscaler scales it (its nodes and records stay)."""
        self.spec = self.spec.model_copy(
            update={"node_pools": [p for p in self.spec.node_pools if p.name != name]}
        )
        if self.preflight is not None:
            self.preflight.forget(name)
        if self.autoscaler is not None:
            self.autoscaler.pools.pop(name, None)

    def add_node(self, pool: NodePool, provision: float, *, upgraded: bool = False) -> Node:
        seq = self._node_seq.get(pool.name, 0)
        self._node_seq[pool.name] = seq + 1
        node = Node(
            name=f"aks-{pool.name}-{self._pool_tag(pool.name)}-vmss{seq:06d}",
            cluster=self.spec.name,
            pool=pool.name,
            index=len(self.nodes),
            max_pods=pool.max_pods or 0,
            node_subnet=self.subnets[pool.node_subnet],
            pod_subnet=self._pod_space(pool),
            created_s=self.env.now,
            upgraded=upgraded,
            unreserved=pool.host_network_addons,
            mode=self._pool_mode[pool.name],
        )
        node.alloc_cpu, node.alloc_mem = pool_allocatable(pool)
        node.alloc_gpu = pool_gpus(pool)
        self.nodes.append(node)
        self.nodes_for[pool.name].append(node)
        # The VM takes its addresses now, before anything else at this instant can
        # remove it again (a later timeline entry at the same time, say).
        if not node.mode.node_created(node):
            node.failed = True
            return node
        self.ctx.recorder.node_event(node, "node_created", "VM created")
        self.env.process(self._provision(node, pool, provision))
        return node

    def _pool_tag(self, pool: str) -> str:
        """AKS names nodes ``aks-<pool>-<8 digits>-vmss<n>``; the digits come from a stable
        hash of cluster and pool here, so names are unique across clusters and repeatable."""
        digest = hashlib.sha256(f"{self.spec.name}/{pool}".encode()).hexdigest()
        return f"{int(digest[:12], 16) % 10**8:08d}"

    def _provision(self, node: Node, pool: NodePool, delay: float):
        if delay:
            yield self.env.timeout(delay)
        if not node.alive:
            return
        node.ready_s = self.env.now
        node.schedulable = not node.cordoned
        self.ctx.recorder.node_event(node, "node_ready", "node registered and Ready")
        node.mode.node_ready(node)
        for i in range(pool.system_pods_per_node):
            pod = self._system.new_pod(f"{node.name}-system-{i}", None, system=True)
            self.bind_daemon(pod, node)
        for daemonset in self.daemonsets:
            daemonset.node_ready(node)
        self.index.update(node)
        self.queue.room(node)
        self.request_schedule()
        if self.autoscaler is not None:
            self.autoscaler.node_ready(node)

    def remove_node(self, node: Node) -> None:
        """Delete a node at once: its pods are evicted and every address it held goes back."""
        node.cordon()
        node.deleted_s = self.env.now
        self.index.update(node)
        for pod in sorted(node.pods, key=lambda p: p.seq):
            if pod.ip is not None and pod.gone_s is None:
                # Not a CNI DEL: the node goes with its pool, so only the count moves.
                node.mode.pod_subnet(node).assign_delta(-1)
            pod.gone_s = self.env.now
            if pod.deleted_s is None:
                self._end(pod, "evicted")
                if not pod.system:
                    pod.owner.evicted(pod)
        node.pods.clear()
        self.queue.node_gone(node)
        node.mode.node_deleted(node)
        self.ctx.recorder.node_event(node, "node_deleted", "node removed from the pool")
        self.request_schedule()

    def drain_node(self, node: Node) -> float:
        """Cordon ``node`` and evict its pods (daemon pods stay until the node goes);
        evicted pods keep their addresses while they terminate, their owners replace them.
        Returns the longest termination grace of the evicted pods: the drain's end."""
        node.cordon()
        self.index.update(node)
        self.ctx.recorder.node_event(node, "node_drained", "cordoned and drained")
        longest = 0.0
        for pod in sorted(node.pods, key=lambda p: p.seq):
            if pod.system or pod.deleted_s is not None:
                continue
            self.delete_pod(pod, "evicted")
            pod.owner.evicted(pod)
            longest = max(longest, pod.grace)
        return longest

    def reimage_node(self, node: Node) -> None:
        """A drained node reimaged in place is Ready again: the same VM, the same
        addresses, schedulable once more (reference §10, ``maxUnavailable``)."""
        if not node.alive:
            return
        node.upgraded = True
        node.cordoned = False
        node.schedulable = node.ready_s is not None
        self.index.update(node)
        self.queue.room(node)  # pending pods that no node fitted may fit it again
        self.ctx.recorder.node_event(node, "node_reimaged", "reimaged in place and Ready")
        self.request_schedule()

    # --- pods ---------------------------------------------------------------------

    def add_workload(self, spec: Workload) -> None:
        controller = controller_for(spec.kind)(self, spec)
        self.controllers[spec.name] = controller
        if controller.per_node:
            self.daemonsets.append(controller)
            for node in self.nodes:
                if node.ready:
                    controller.node_ready(node)
                    self.index.update(node)
        wants = spec.requests is not None or controller.requests_resources
        if wants and not self.index.by_resources:
            self.index.by_resources = True
            self.index.rebuild(self.nodes)
        controller.start()

    def add_pod(self, pod: Pod) -> Pod:
        """Keep a new pod (its owner made it) and number it in creation order."""
        self._pod_seq += 1
        pod.seq = self._pod_seq
        self.pods.append(pod)
        return pod

    def enqueue(self, pod: Pod, *, last: bool = False, ask: bool = True) -> None:
        """A new pod waits for the scheduler (``last``: see ``request_schedule``;
        ``ask`` False: the caller calls ``request_schedule`` itself once done)."""
        self.pending[pod] = None
        self.queue.add(pod)
        if ask:
            self.request_schedule(last=last)

    def request_schedule(self, *, last: bool = False) -> None:
        """Run a scheduling pass once, after the current instant's other events.

        ``last``: the caller does nothing more in this event. When no other event of
        this instant is queued either, the pass runs at once: the same order, one event
        fewer (a Poisson arrival is nearly always alone at its instant)."""
        if self._schedule_queued or not self.pending:
            return
        if last and self.env.peek() > self.env.now:
            self._schedule_pass()
            return
        self._schedule_queued = True
        self.ctx.after(0, self._schedule_pass)

    def _schedule_pass(self) -> None:
        self._schedule_queued = False
        if self.ctx.literal_schedule:  # test switch: walk every pending pod
            bindings = schedule(self.pending, self.index)
            for pod, _ in bindings:
                self.queue.discard(pod)
        else:
            bindings = self.queue.bindings(self.index)
        for pod, node in bindings:  # all chosen before any is bound
            del self.pending[pod]
            self._bind(pod, node)
        if self.pending and self.autoscaler is not None:
            self.autoscaler.unschedulable()

    def bind_daemon(self, pod: Pod, node: Node) -> None:
        """Daemon pods go straight to their node, whatever its room (they define it)."""
        node.pods.add(pod)
        node.occupy(pod)
        self._bind(pod, node)

    def _bind(self, pod: Pod, node: Node) -> None:
        pod.node = node
        pod.scheduled_s = self.env.now
        if len(node.pods) > node.peak_pods:
            node.peak_pods = len(node.pods)
        if pod.host_network:
            node.not_demand += 1
        if node.mode.watches_demand:
            node.mode.demand_changed(node)
        if self.autoscaler is not None:
            self.autoscaler.usage_changed(node)
        self._try_ip(pod)

    def _try_ip(self, pod: Pod) -> None:
        """CNI ADD: take an address or fail and let kubelet retry the sandbox later."""
        if pod.deleted_s is not None:
            return
        node = pod.node
        assert node is not None
        if not pod.host_network:
            address = node.mode.assign(pod)
            if address is None:
                if self.ctx.tripwire is not None and pod.scheduled_s == self.env.now:
                    self.ctx.tripwire.pod_waiting(pod)  # its first try
                self.retries.failed(pod)
                return
            pod.ip = address
            pod.ip_s = self.env.now
        start = self.timings.pod_start
        if pod.lifetime is None:
            if pod.owner.watches_running:
                self.ctx.after(start, self._started, pod)
            else:
                # Its owner ignores its Running instant: no event for it. Until then
                # ``running_s`` lies ahead, as for a job's pod.
                pod.running_s = self.env.now + start
            return
        # A job's pod: its Running instant changes nothing else, so one timed call covers
        # start and run. Until then ``running_s`` lies ahead (results read it as starting).
        pod.running_s = self.env.now + start
        self.ctx.after(start + pod.lifetime, self.finish_pod, pod)

    def _started(self, pod: Pod) -> None:
        if pod.deleted_s is None:
            pod.running_s = self.env.now
            pod.owner.running(pod)

    def _end(self, pod: Pod, reason: str) -> None:
        now = self.env.now
        if pod.running_s is not None and pod.running_s > now:
            # A job's pod deleted before it got to Running (at the very instant, it did).
            pod.running_s = None
        pod.deleted_s = now
        pod.end = reason
        self.pending.pop(pod, None)
        self.queue.discard(pod)
        self.retries.forget(pod)

    def delete_pod(self, pod: Pod, reason: str) -> None:
        """Delete (or evict) a pod. One with an address keeps it while it terminates:
        its termination grace, then CNS's release delay (``ip_release``)."""
        self._end(pod, reason)
        node = pod.node
        if node is None:
            return
        if pod.ip is not None or pod.host_network:
            self.ctx.after(pod.grace + self.timings.ip_release, self._pod_gone, pod)
        else:
            self._vacate(node, pod)

    def finish_pod(self, pod: Pod) -> None:
        """A job's pod has run to completion: Succeeded, its address back after
        ``ip_release`` (its containers have already exited: no grace)."""
        if pod.deleted_s is not None or pod.node is None:
            return
        self._end(pod, "succeeded")
        pod.node.not_demand += 1
        pod.finished = True
        # No demand change here: CNS v2's pod watcher ignores pod updates, so a pod that
        # turns Succeeded counts until the next pod create or delete on its node re-lists
        # them (reference §12).
        self.ctx.after(self.timings.ip_release, self._pod_gone, pod)

    def _pod_gone(self, pod: Pod) -> None:
        node = pod.node
        assert node is not None
        if pod not in node.pods:  # the node went first and took the address with it
            return
        if pod.ip is not None:
            node.mode.release(pod)
            self.retries.address_freed(node)
        self._vacate(node, pod)

    def _vacate(self, node: Node, pod: Pod) -> None:
        """The pod no longer takes a slot on the node."""
        pod.gone_s = self.env.now
        node.pods.discard(pod)
        node.occupy(pod, -1)
        if pod.host_network:
            node.not_demand -= 1
        if pod.finished:
            node.not_demand -= 1
        elif node.mode.watches_demand:  # a delete; a finished pod's object stays
            node.mode.demand_changed(node)
        self.index.update(node)
        self.queue.room(node)
        if self.autoscaler is not None:
            self.autoscaler.usage_changed(node)
        self.request_schedule()

    # --- reporting ------------------------------------------------------------------
