"""Nodes and pods: the state the model keeps for each, doubling as their final records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..ip_pool import NodeIpPool

if TYPE_CHECKING:
    import simpy

    from .subnets import SubnetState

__all__ = ["Node", "Pod"]


@dataclass(eq=False)
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


@dataclass(eq=False)
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
    running_s: float | None = None
    deleted_s: float | None = None
    end: str = ""  # deleted | evicted, once gone
    process: simpy.Process | None = None

    @property
    def phase(self) -> str:
        """Pending (not bound), waiting (bound, no IP), starting, running or gone."""
        if self.deleted_s is not None:
            return self.end or "deleted"
        if self.node is None:
            return "pending"
        if self.ip is None:
            return "waiting"
        if self.running_s is None:
            return "starting"
        return "running"
