"""The interface every CNI mode implements, and what the model lends it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import simpy
from simpy.core import NORMAL
from simpy.events import Event

if TYPE_CHECKING:
    from simulator.model.cni.dynamic.node_agent import TickBus
    from simulator.model.entities import Node, Pod
    from simulator.model.recorder import Recorder
    from simulator.model.subnets import SubnetState
    from simulator.scenario.models import Cluster

__all__ = ["CniMode", "ModelContext"]


class _Call(Event):
    """A timed call: a bare event carrying its action (cheaper than a Timeout plus a
    closure, and the model schedules hundreds of thousands of them)."""

    __slots__ = ("action", "args")

    def __init__(
        self, env: simpy.Environment, delay: float, action: Callable[..., Any], args: tuple
    ) -> None:
        self.env = env
        self.callbacks = [_run_call]
        self._value = None
        self._ok = True
        self.action = action
        self.args = args
        env.schedule(self, NORMAL, delay)


def _run_call(call: _Call) -> None:
    # A plain function, not a bound method: nothing to allocate per call.
    call.action(*call.args)


@dataclass
class ModelContext:
    """What a CNI mode may use of the model: the clock, the records and one cluster."""

    env: simpy.Environment
    recorder: Recorder
    cluster: Cluster
    order: int  # the cluster's position in the scenario: fixes tie orders across clusters
    ticks: TickBus  # node agents' monitor ticks, shared by every cluster
    literal_tick: bool = False  # test switch: run CNS's 1 s ticker literally

    def after(self, delay: float, action: Callable[..., Any], *args: Any) -> None:
        """Call ``action(*args)`` ``delay`` seconds from now."""
        _Call(self.env, delay, action, args)


class CniMode(ABC):
    """How a cluster's nodes and pods get addresses.

    The model calls these hooks; the mode takes and returns addresses in subnets and
    records each node's pool. A mode never moves pods or nodes itself.
    """

    #: The name used in scenario files.
    name: str

    def __init__(self, ctx: ModelContext) -> None:
        self.ctx = ctx

    @abstractmethod
    def node_created(self, node: Node) -> bool:
        """A VM is being created: take its node-level addresses; False if the subnet is full."""

    @abstractmethod
    def node_ready(self, node: Node) -> None:
        """The node has registered and its node agent starts."""

    @abstractmethod
    def node_deleted(self, node: Node) -> None:
        """The node is gone (its pods already evicted): give every address back."""

    @abstractmethod
    def assign(self, pod: Pod) -> int | None:
        """CNI ADD for a pod bound to a node: an address (counted as assigned in its
        subnet), or None when none is available."""

    @abstractmethod
    def release(self, pod: Pod) -> None:
        """The pod's address is free again on its node (and no longer assigned)."""

    @abstractmethod
    def pod_subnet(self, node: Node) -> SubnetState:
        """The subnet the node's pod addresses come from."""

    #: Whether the mode wants ``demand_changed`` (the model skips the call otherwise: it
    #: would come three times in every pod's life).
    watches_demand = False

    def demand_changed(self, node: Node) -> None:  # noqa: B027 (optional hook)
        """A pod was bound to ``node`` or is gone from it (if ``watches_demand``)."""

    @abstractmethod
    def record(self, node: Node) -> None:
        """Append the node's pool state to the NNC records if it changed."""
