"""What the model lends its parts: the clock, the records, one cluster, timed calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import simpy
from simpy.core import NORMAL
from simpy.events import Event

if TYPE_CHECKING:
    from simulator.model.clock import TickBus
    from simulator.model.entities import Node
    from simulator.model.recorder import Recorder
    from simulator.model.retries import SandboxRetries
    from simulator.model.subnets import SubnetState
    from simulator.model.tripwire import Tripwire
    from simulator.scenario.models import Cluster, Exhaustion, Network

__all__ = ["ModelContext"]


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
    """What a cluster's parts (its CNI mode among them) may use of the model: the
    clock, the records, the cluster's spec and the world's subnets."""

    env: simpy.Environment
    recorder: Recorder
    cluster: Cluster
    order: int  # the cluster's position in the scenario: fixes tie orders across clusters
    ticks: TickBus  # node agents' monitor ticks, shared by every cluster
    subnets: dict[str, SubnetState]  # every subnet of the scenario, by name
    exhaustion: Exhaustion  # the control plane's subnet exhaustion settings
    literal_tick: bool = False  # test switch: run CNS's 1 s ticker literally
    literal_schedule: bool = False  # test switch: each pass walks every pending pod
    tripwire: Tripwire | None = None  # stops the run once it fails its checks (plan)
    network: Network | None = None  # the scenario's network settings
    retries: SandboxRetries | None = None  # kubelet's sandbox retries, world-wide
    #: Told when an address becomes Available on a node (its waiting pods may get it).
    on_available: Callable[[Node], None] | None = None

    def after(self, delay: float, action: Callable[..., Any], *args: Any) -> None:
        """Call ``action(*args)`` ``delay`` seconds from now."""
        _Call(self.env, delay, action, args)
