"""The model's clock: timed calls, events that run after every other event of their
instant, the bus that runs periodic readers' ticks in a fixed order, and pausing the
collector for a run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import simpy
from simpy.core import NORMAL
from simpy.events import Event

from simulator.core.collector import collector_paused

__all__ = [
    "LATE_PRIORITY",
    "POLL_PRIORITY",
    "LateEvent",
    "TickBus",
    "TimedCall",
    "collector_paused",
]

#: SimPy runs lower priorities first at one instant (URGENT 0, NORMAL 1): these come last.
LATE_PRIORITY = 2
#: After the node agents' ticks too: the control plane's subnet poll. Fixing this order
#: makes "did CNS tick before it saw the flag?" the same question in every run.
POLL_PRIORITY = 3


class TimedCall(Event):
    """A timed call: a bare event carrying its action (cheaper than a Timeout plus a
    closure, and the model schedules hundreds of thousands of them), at ``priority``
    among the events of its instant (SimPy's NORMAL unless told)."""

    __slots__ = ("action", "args")

    def __init__(
        self,
        env: simpy.Environment,
        delay: float,
        action: Callable[..., Any],
        args: tuple,
        priority: float = NORMAL,
    ) -> None:
        self.env = env
        self.callbacks = [_run_call]
        self._value = None
        self._ok = True
        self.action = action
        self.args = args
        env.schedule(self, priority, delay)  # type: ignore[arg-type]


def _run_call(call: TimedCall) -> None:
    # A plain function, not a bound method: nothing to allocate per call.
    call.action(*call.args)


class LateEvent(simpy.Event):
    """An event that fires after every normal event of its instant.

    Periodic readers (CNS's ticker, the control plane's subnet poll) use it so that they
    see an instant's final state whether they are modelled literally or on demand."""

    def __init__(self, env: simpy.Environment, delay: float, priority: int = LATE_PRIORITY) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, priority, max(delay, 0.0))


class Ticking(Protocol):
    """A periodic reader run by a :class:`TickBus` (a node agent's pool monitor)."""

    order: tuple[int, int]

    def on_tick(self) -> None: ...


class TickBus:
    """Runs the monitor ticks due at one instant together, in a fixed node order.

    Ticks of different nodes at the same instant can compete for the same subnet (their
    spec patches reach the control plane in this order), so the order must not depend
    on how the ticks were scheduled.
    """

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._due: dict[float, list[Ticking]] = {}

    def at(self, when: float, agent: Ticking) -> None:
        """Run ``agent``'s tick at ``when``."""
        due = self._due.get(when)
        if due is None:
            due = self._due[when] = []
            LateEvent(self.env, when - self.env.now).callbacks.append(lambda _e: self._fire(when))
        due.append(agent)

    def _fire(self, when: float) -> None:
        for agent in sorted(self._due.pop(when), key=lambda a: a.order):
            agent.on_tick()
