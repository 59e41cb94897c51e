"""What every workload controller shares, and what it may use of its cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import simpy

    from simulator.model.context import ModelContext
    from simulator.model.entities import Node
    from simulator.model.streams import Streams
    from simulator.scenario.models import Cluster, NodePool, Workload

from simulator.model.entities import Pod

__all__ = ["Controller", "PodHost"]


class PodHost(Protocol):
    """The cluster as a workload controller sees it (``ClusterRuntime`` is one): it
    keeps, schedules, binds and deletes the pods a controller makes."""

    env: simpy.Environment
    ctx: ModelContext
    spec: Cluster
    streams: Streams
    folder: str  # files the scenario names are relative to this
    duration: float  # the run's end
    pools: dict[str, NodePool]

    def add_pod(self, pod: Pod) -> Pod: ...

    def enqueue(self, pod: Pod, *, last: bool = False, ask: bool = True) -> None: ...

    def request_schedule(self, *, last: bool = False) -> None: ...

    def delete_pod(self, pod: Pod, reason: str) -> None: ...

    def bind_daemon(self, pod: Pod, node: Node) -> None: ...


class Controller:
    """What the cluster tells a pod's owner."""

    kind = ""
    #: Whether it runs a pod on every Ready node of its pools (``node_ready`` is called).
    per_node = False
    #: Whether its pods request CPU or memory of their own (beyond ``requests``): the
    #: scheduler then scores nodes by requested resources.
    requests_resources = False
    #: Whether ``running`` is called when a pod gets Running (else that instant costs no
    #: event: the pod's ``running_s`` is set ahead).
    watches_running = True

    def __init__(self, cluster: PodHost, spec: Workload) -> None:
        self.cluster = cluster
        self.spec = spec
        self.name = spec.name
        self.cpu = spec.requests.cpu if spec.requests else 0
        self.mem = spec.requests.memory if spec.requests else 0
        self.gpu = spec.requests.gpu if spec.requests else 0
        self.host_network = spec.host_network
        self.grace = spec.termination_grace

    def start(self) -> None:
        """Create the initial pods and start timed behaviour."""

    def running(self, pod: Pod) -> None:
        """``pod`` became Running (ready)."""

    def evicted(self, pod: Pod) -> None:
        """``pod`` was evicted (drain or node deletion)."""

    def node_ready(self, node: Node) -> None:
        """``node`` became Ready (only for controllers with ``per_node``)."""

    def pool_added(self, pool: str) -> None:
        """The cluster has a new node pool (only for controllers with ``per_node``)."""

    def new_pod(
        self,
        name: str,
        pool: str | None,
        *,
        system: bool = False,
        revision: int = 0,
        lifetime: float | None = None,
    ) -> Pod:
        """A new pod of this workload, kept by the cluster (not yet scheduled)."""
        cluster = self.cluster
        pod = Pod(
            name=name, workload=self.name, cluster=cluster.spec.name, pool=pool,
            system=system, seq=0, created_s=cluster.env.now, owner=self, revision=revision,
            host_network=self.host_network, cpu=self.cpu, mem=self.mem, grace=self.grace,
            lifetime=lifetime, gpu=self.gpu,
        )  # fmt: skip
        return cluster.add_pod(pod)

    def replay(self) -> object | None:
        """What the results check of this workload beyond its pods (a trace's replay:
        :class:`~simulator.model.workloads.trace.TraceReplay`), or None."""
        return None
