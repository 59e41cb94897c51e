"""Nodes and pods: the state the model keeps for each, doubling as their final records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulator.core.ip_pool import NodeIpPool

if TYPE_CHECKING:
    from simulator.model.subnets import SubnetState

__all__ = ["Node", "Pod"]


@dataclass(eq=False, slots=True)
class Node:
    """One VM of a node pool and everything it holds."""

    name: str
    cluster: str
    pool: str
    index: int  # creation order within the cluster: deterministic tie-breaks
    max_pods: int
    node_subnet: SubnetState
    pod_subnet: SubnetState | None
    created_s: float
    ready_s: float | None = None
    deleted_s: float | None = None
    failed: bool = False
    node_ip: int | None = None
    ips: NodeIpPool = field(default_factory=NodeIpPool)
    pods: set[Pod] = field(default_factory=set)  # bound and not yet gone
    first_ips_s: float | None = None  # when pods could first get an address
    first_batch_refused: bool = False  # the subnet could not fill its first request
    peak_pods: int = 0
    peak_requested: int = 0
    peak_assigned: int = 0
    cni: Any = None  # per-node state owned by the CNI mode
    mode: Any = None  # the CNI mode (strategy) of the node's pool
    # Scheduling: allocatable and requested resources (None: no resource limit).
    alloc_cpu: int | None = None
    alloc_mem: int | None = None
    alloc_gpu: int | None = None
    used_cpu: int = 0
    used_mem: int = 0
    used_gpu: int = 0
    #: Pods per capped group bound here (pods with a per-node cap), None until one is.
    groups: dict[str, int] | None = None
    cordoned: bool = False  # no new pods (drain, deletion)
    # Ready and not cordoned: a plain flag because the scheduler reads it on every pick.
    schedulable: bool = False
    not_demand: int = 0  # pods on the node that CNS v2 does not count (hostNetwork, done)
    sched_key: int | None = None  # the node's key in the scheduler's heaps
    upgraded: bool = False  # created by a node pool upgrade
    unreserved: int = 0  # traditional: hostNetwork add-on pods its NIC reserves no address for
    nnc_last: tuple[object, ...] | None = None  # recorder: the pool state last recorded

    @property
    def holder(self) -> str:
        """Who holds this node's addresses in per-subnet reports: ``cluster/node pool``."""
        return f"{self.cluster}/{self.pool}"

    def cordon(self) -> None:
        """No new pods from now on (drain, scale-down, deletion)."""
        self.cordoned = True
        self.schedulable = False

    def fits(self, pod: Pod) -> bool:
        """Room for ``pod``: a pod slot under max pods, and its CPU and memory."""
        if len(self.pods) >= self.max_pods:
            return False
        if self.alloc_cpu is not None and self.used_cpu + pod.cpu > self.alloc_cpu:
            return False
        if pod.gpu and self.alloc_gpu is not None and self.used_gpu + pod.gpu > self.alloc_gpu:
            return False
        if pod.cap and self.groups is not None and self.groups.get(pod.group, 0) >= pod.cap:
            return False
        return self.alloc_mem is None or self.used_mem + pod.mem <= self.alloc_mem

    def occupy(self, pod: Pod, sign: int = 1) -> None:
        """Count ``pod``'s requests on the node (``sign`` -1: take them off again)."""
        self.used_cpu += sign * pod.cpu
        self.used_mem += sign * pod.mem
        if pod.gpu:
            self.used_gpu += sign * pod.gpu
        if pod.cap:
            groups = self.groups if self.groups is not None else {}
            groups[pod.group] = groups.get(pod.group, 0) + sign
            self.groups = groups

    @property
    def demand(self) -> int:
        """Pods bound here that need a pod IP and are not finished (CNS v2's demand)."""
        return len(self.pods) - self.not_demand

    @property
    def alive(self) -> bool:
        return not self.failed and self.deleted_s is None

    @property
    def ready(self) -> bool:
        return self.alive and self.ready_s is not None

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        if self.deleted_s is not None:
            return "deleted"
        if self.ready_s is None:
            return "provisioning"
        if self.first_ips_s is None:
            return "stuck"
        return "ready"


@dataclass(eq=False, slots=True)
class Pod:
    """One pod, from creation to deletion."""

    name: str
    workload: str
    cluster: str
    pool: str | None  # required node pool, or None for any
    system: bool
    seq: int  # creation order within the cluster
    created_s: float
    node: Node | None = None
    scheduled_s: float | None = None
    ip: int | None = None
    ip_s: float | None = None
    running_s: float | None = None  # a job's pod sets it ahead, when it gets its address
    deleted_s: float | None = None
    end: str = ""  # deleted | evicted | succeeded, once gone
    owner: Any = None  # the controller that made it (Deployment, Job, DaemonSet)
    revision: int = 0  # the Deployment template it was made from
    host_network: bool = False  # uses the node's address: no pod IP
    cpu: int = 0  # requested millicores
    mem: int = 0  # requested MiB
    gpu: int = 0  # requested GPUs (nvidia.com/gpu)
    grace: float = 0.0  # termination grace: how long a deleted pod keeps its address
    lifetime: float | None = None  # job: run time once Running
    finished: bool = False  # job: ran to completion (Succeeded)
    gone_s: float | None = None  # when it left the node (its address is free again)
    # Placement beyond one pool (a trace's pods): the pools it may run in (when ``pool``
    # is None), the one node it must run on while that node lives, and at most ``cap``
    # pods of its ``group`` per node (0: no cap).
    pools: tuple[str, ...] | None = None
    pin: Node | None = None
    group: str = ""
    cap: int = 0

    @property
    def phase(self) -> str:
        """Pending (not bound), waiting (bound, no IP), starting, running, or how it ended
        (deleted, evicted, succeeded). A job's pod reads as running from its address on
        (``running_s`` is set ahead); the results place it at the run's end."""
        if self.deleted_s is not None:
            return self.end or "deleted"
        if self.node is None:
            return "pending"
        if self.ip is None and not self.host_network:
            return "waiting"
        if self.running_s is None:
            return "starting"
        return "running"
