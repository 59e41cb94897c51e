"""Events that run after every other event of their instant."""

from __future__ import annotations

import simpy

__all__ = ["LATE_PRIORITY", "POLL_PRIORITY", "LateEvent"]

#: SimPy runs lower priorities first at one instant (URGENT 0, NORMAL 1): these come last.
LATE_PRIORITY = 2
#: After the node agents' ticks too: the control plane's subnet poll. Fixing this order
#: makes "did CNS tick before it saw the flag?" the same question in every run.
POLL_PRIORITY = 3


class LateEvent(simpy.Event):
    """An event that fires after every normal event of its instant.

    Periodic readers (CNS's ticker, the control plane's subnet poll) use it so that they
    see an instant's final state whether they are modelled literally or on demand."""

    def __init__(self, env: simpy.Environment, delay: float, priority: int = LATE_PRIORITY) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, priority, max(delay, 0.0))
