"""What the model lends its parts: the clock, the records, one cluster, timed calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import simpy

from simulator.model.clock import TimedCall

if TYPE_CHECKING:
    from simulator.model.clock import TickBus
    from simulator.model.entities import Node
    from simulator.model.recorder import Recorder
    from simulator.model.retries import SandboxRetries
    from simulator.model.subnets import SubnetState
    from simulator.model.tripwire import Tripwire
    from simulator.scenario.models import Cluster, Exhaustion, Network

__all__ = ["ModelContext"]


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
        TimedCall(self.env, delay, action, args)
