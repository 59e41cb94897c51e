"""The control plane's subnet-exhaustion flag (``ClusterSubnetState.status.exhausted``).

Reference: reference/azure-cni.md §7 and the subnet-scarcity design in
``Azure/azure-container-networking`` (docs/feature/subnet-scarcity). The control plane
polls each pod subnet's usage; it marks the subnet exhausted when the allocated share of
the usable addresses rises above an upper threshold and clears the mark when it falls
below a lower one. A poll whose inputs have not changed since the last one cannot flip
the flag, so a poll is scheduled only at the next poll instant after a change.
"""

from __future__ import annotations

import math

import simpy

from simulator.model.clock import POLL_PRIORITY, LateEvent
from simulator.model.recorder import Recorder
from simulator.model.subnets import SubnetState
from simulator.scenario.models import Exhaustion

__all__ = ["ExhaustionMonitor"]


class ExhaustionMonitor:
    """Polls one pod subnet and tells the node agents using it when the flag flips."""

    def __init__(
        self,
        env: simpy.Environment,
        subnet: SubnetState,
        params: Exhaustion,
        recorder: Recorder,
        *,
        literal: bool = False,
    ) -> None:
        self.env = env
        self.subnet = subnet
        self.recorder = recorder
        self.interval = subnet.exhaustion_poll = params.poll_interval
        # Compared in whole addresses: above upper% of usable, below lower% of usable.
        self.upper = subnet.capacity * params.upper_percent / 100
        self.lower = subnet.capacity * params.lower_percent / 100
        self._queued = False
        self._last_k = -1  # the poll instant (in intervals) that ran last
        self.literal = literal  # test switch: poll every interval, changed or not
        if literal:
            self._queued = True
            LateEvent(env, 0.0, POLL_PRIORITY).callbacks.append(self._poll)
        else:
            subnet.on_allocated = self._changed

    def _changed(self) -> None:
        if self._queued:
            return
        self._queued = True
        k = math.ceil(self.env.now / self.interval - 1e-9)
        if k <= self._last_k:  # this instant's poll has run: changes after it wait
            k = self._last_k + 1
        LateEvent(self.env, k * self.interval - self.env.now, POLL_PRIORITY).callbacks.append(
            self._poll
        )

    def _poll(self, _event: simpy.Event) -> None:
        self._queued = False
        self._last_k = round(self.env.now / self.interval)
        if self.literal:
            self._queued = True
            LateEvent(self.env, self.interval, POLL_PRIORITY).callbacks.append(self._poll)
        subnet = self.subnet
        allocated = subnet.allocated
        if not subnet.exhausted and allocated > self.upper:
            flag, kind = True, "subnet_exhausted"
        elif subnet.exhausted and allocated < self.lower:
            flag, kind = False, "subnet_recovered"
        else:
            return
        subnet.set_exhausted(flag)
        self.recorder.event(
            kind,
            f"{allocated} of {subnet.capacity} usable addresses allocated "
            f"({100 * allocated / subnet.capacity:.1f} %)",
            subnet=subnet.name,
        )
        for listener in list(subnet.exhaustion_listeners):
            listener(flag)
