"""One cluster at run time: node pools, workloads, the scheduler and pod lifecycles.

Node provisioning is a SimPy process. Pods are driven by timed callbacks rather than a
process each: a deleted pod's pending callbacks simply find it gone, which keeps a
cancellation a state check and lets many pods stay cheap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..cni import CniMode, ModelContext, mode_for
from ..scenario import Cluster, NodePool, Workload
from .entities import Node, Pod
from .scheduler import SpreadIndex, schedule
from .subnets import SubnetState

__all__ = ["ClusterRuntime"]

#: ReplicaSet scale-down order: unscheduled, then not ready, then running; newest first.
_DELETE_RANK = {"pending": 0, "waiting": 1, "starting": 2, "running": 3}


@dataclass(eq=False)
class _Deployment:
    spec: Workload
    replicas: int
    live: dict[Pod, None] = field(default_factory=dict)  # insertion-ordered set
    created: int = 0


class ClusterRuntime:
    """Everything that happens inside one cluster."""

    def __init__(self, ctx: ModelContext, subnets: dict[str, SubnetState]) -> None:
        self.ctx = ctx
        self.env = ctx.env
        self.spec: Cluster = ctx.cluster
        self.timings = self.spec.timings
        self.cni: CniMode = mode_for(self.spec.cni)(ctx)
        self.subnets = subnets
        self.pools: dict[str, NodePool] = {p.name: p for p in self.spec.node_pools}
        self.nodes: list[Node] = []
        self.nodes_for: dict[str, list[Node]] = {p.name: [] for p in self.spec.node_pools}
        self.spread = SpreadIndex(self.pools)
        self.pods: list[Pod] = []
        self.pending: dict[Pod, None] = {}  # insertion-ordered FIFO of unbound pods
        self.deployments: dict[str, _Deployment] = {}
        self._pod_seq = 0
        self._node_seq: dict[str, int] = {}
        self._schedule_queued = False

    # --- node pools ---------------------------------------------------------------

    def start(self) -> None:
        """Create the initial nodes; they are Ready at t = 0 (a running cluster)."""
        for pool in self.spec.node_pools:
            for _ in range(pool.count):
                self._add_node(pool, provision=0.0)

    def scale_pool(self, pool_name: str, count: int) -> None:
        pool = self.pools[pool_name]
        live = [n for n in self.nodes_for[pool_name] if n.alive]
        self.ctx.recorder.event(
            "node_pool_scaled",
            f"{len(live)} -> {count} nodes",
            cluster=self.spec.name,
            node_pool=pool_name,
        )
        if count > len(live):
            for _ in range(count - len(live)):
                self._add_node(pool, provision=self.timings.node_provision)
        else:
            # Nodes still provisioning go first, then the emptiest; newest on ties.
            victims = sorted(live, key=lambda n: (n.ready_s is not None, len(n.pods), -n.index))
            for node in victims[: len(live) - count]:
                self.remove_node(node)

    def _add_node(self, pool: NodePool, provision: float) -> None:
        seq = self._node_seq.get(pool.name, 0)
        self._node_seq[pool.name] = seq + 1
        node = Node(
            name=f"aks-{pool.name}-{self._pool_tag(pool.name)}-vmss{seq:06d}",
            cluster=self.spec.name,
            pool=pool.name,
            index=len(self.nodes),
            max_pods=pool.max_pods or 0,
            node_subnet=self.subnets[pool.node_subnet],
            pod_subnet=self.subnets[pool.pod_subnet] if pool.pod_subnet else None,
            created_s=self.env.now,
        )
        self.nodes.append(node)
        self.nodes_for[pool.name].append(node)
        # The VM takes its addresses now, before anything else at this instant can
        # remove it again (a later timeline entry at the same time, say).
        if not self.cni.node_created(node):
            node.failed = True
            return
        self.ctx.recorder.node_event(node, "node_created", "VM created")
        self.env.process(self._provision(node, pool, provision))

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
        self.ctx.recorder.node_event(node, "node_ready", "node registered and Ready")
        self.cni.node_ready(node)
        for i in range(pool.system_pods_per_node):
            pod = self._new_pod(f"{node.name}-system-{i}", "(system)", None, system=True)
            node.pods.add(pod)
            self._bind(pod, node)
        self.spread.update(node)
        self.request_schedule()

    def remove_node(self, node: Node) -> None:
        """Cordon, evict and delete a node; every address it held goes back."""
        node.deleted_s = self.env.now
        for pod in sorted(node.pods, key=lambda p: p.seq):
            if pod.ip is not None:
                self.cni.pod_subnet(node).assign_delta(-1)
            if pod.deleted_s is None:
                self._end_pod(pod, "evicted")
        node.pods.clear()
        self.cni.node_deleted(node)
        self.ctx.recorder.node_event(node, "node_deleted", "node removed from the pool")
        self.request_schedule()

    # --- workloads ----------------------------------------------------------------

    def add_workload(self, spec: Workload) -> None:
        self.deployments[spec.name] = _Deployment(spec, 0)
        self.scale_workload(spec.name, spec.replicas, log=False)

    def scale_workload(self, name: str, replicas: int, *, log: bool = True) -> None:
        dep = self.deployments[name]
        if log:
            self.ctx.recorder.event(
                "workload_scaled",
                f"{name}: {dep.replicas} -> {replicas} replicas",
                cluster=self.spec.name,
                node_pool=dep.spec.node_pool or "",
            )
        dep.replicas = replicas
        self._reconcile_deployment(dep)

    def _reconcile_deployment(self, dep: _Deployment) -> None:
        surplus = len(dep.live) - dep.replicas
        if surplus > 0:
            victims = sorted(dep.live, key=lambda p: (_DELETE_RANK[p.phase], -p.seq))
            for pod in victims[:surplus]:
                self._end_pod(pod, "deleted")
        while len(dep.live) < dep.replicas:
            dep.created += 1
            pod = self._new_pod(
                f"{dep.spec.name}-{dep.created:05d}", dep.spec.name, dep.spec.node_pool
            )
            dep.live[pod] = None
            self.pending[pod] = None
        self.request_schedule()

    # --- pods ---------------------------------------------------------------------

    def _new_pod(self, name: str, workload: str, pool: str | None, system: bool = False) -> Pod:
        self._pod_seq += 1
        pod = Pod(
            name=name,
            workload=workload,
            cluster=self.spec.name,
            pool=pool,
            system=system,
            seq=self._pod_seq,
            created_s=self.env.now,
        )
        self.pods.append(pod)
        return pod

    def request_schedule(self) -> None:
        """Run a scheduling pass once, after the current instant's other events."""
        if not self._schedule_queued and self.pending:
            self._schedule_queued = True
            self.ctx.after(0, self._schedule_pass)

    def _schedule_pass(self) -> None:
        self._schedule_queued = False
        for pod, node in schedule(list(self.pending), self.spread):
            del self.pending[pod]
            self._bind(pod, node)

    def _bind(self, pod: Pod, node: Node) -> None:
        pod.node = node
        pod.scheduled_s = self.env.now
        node.peak_pods = max(node.peak_pods, len(node.pods))
        self.cni.demand_changed(node)
        self._try_ip(pod)

    def _try_ip(self, pod: Pod) -> None:
        """CNI ADD: take an address or fail and let kubelet retry the sandbox later."""
        if pod.deleted_s is not None:
            return
        node = pod.node
        assert node is not None
        address = self.cni.assign(pod)
        if address is None:
            self.ctx.after(self.timings.sandbox_retry, self._try_ip, pod)
            return
        pod.ip = address
        pod.ip_s = self.env.now
        self.cni.pod_subnet(node).assign_delta(1)
        self.ctx.after(self.timings.pod_start, self._started, pod)

    def _started(self, pod: Pod) -> None:
        if pod.deleted_s is None:
            pod.running_s = self.env.now

    def _end_pod(self, pod: Pod, reason: str) -> None:
        """Delete or evict a pod; a Deployment replaces evicted pods."""
        pod.deleted_s = self.env.now
        pod.end = reason
        self.pending.pop(pod, None)
        dep = self.deployments.get(pod.workload) if not pod.system else None
        if dep is not None:
            del dep.live[pod]
        if reason == "deleted" and pod.node is not None:
            if pod.ip is not None:
                # Terminating: the pod keeps its slot and address for ip_release.
                self.ctx.after(self.timings.ip_release, self._pod_gone, pod)
            else:
                self._vacate(pod.node, pod)
        if reason == "evicted" and dep is not None:
            self._reconcile_deployment(dep)

    def _pod_gone(self, pod: Pod) -> None:
        node = pod.node
        assert node is not None
        if pod not in node.pods:  # the node went first and took the address with it
            return
        self.cni.release(pod)
        self.cni.pod_subnet(node).assign_delta(-1)
        self._vacate(node, pod)

    def _vacate(self, node: Node, pod: Pod) -> None:
        """The pod no longer takes a slot on the node."""
        node.pods.discard(pod)
        self.cni.demand_changed(node)
        self.spread.update(node)
        self.request_schedule()
