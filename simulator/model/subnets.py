"""A subnet as the model sees it: its address pool plus usage counters and change points."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Collection, Iterable
from typing import Protocol

import numpy as np

from simulator.core.addressing import SubnetPool

__all__ = ["RESERVED_HOLDER", "Clock", "SubnetState"]

#: Who holds a subnet's ``reserved`` addresses in per-holder reports (``cluster/node pool``
#: form): other consumers of the subnet, not a cluster of the scenario.
RESERVED_HOLDER = "(others)/reserved"


class Clock(Protocol):
    """Anything with the current simulated time as ``now`` (a SimPy environment)."""

    @property
    def now(self) -> float: ...


class SubnetState:
    """Addresses held by nodes (allocated) and used by pods (assigned), over time."""

    def __init__(self, name: str, cidr: str, vnet: str, clock: Clock, reserved: int = 0) -> None:
        self.pool = SubnetPool(name, cidr)
        self.name = name
        self.vnet = vnet
        self._clock = clock
        self.assigned = 0
        self.peak_allocated = 0
        self.peak_assigned = 0
        self.full_at_s: float | None = None
        self.full_events = 0
        # Change points, one per instant at which something changed: its time and the
        # allocated and assigned counts after it. Flat arrays, not tuples: a long run has
        # millions, and the results read them as arrays.
        self._times = array("d", [0.0])
        self._allocated = array("q", [0])
        self._assigned = array("q", [0])
        # Callbacks waiting for addresses to come back (the control plane's retries).
        self._waiters: list[Callable[[], None]] = []
        # The control plane's exhausted flag (reference §7), when it flipped, and the
        # interval of its poll (None: no poller watches this subnet).
        self.exhausted = False
        self.exhaustion_poll: float | None = None
        self.exhaustion_flips: list[tuple[float, bool]] = []
        # The node agents' CNI modes, told when the flag flips (CSS watch).
        self.exhaustion_listeners: list[Callable[[bool], None]] = []
        # Addresses held per ``cluster/node pool`` and every change of those counts.
        self.held_by: dict[str, int] = {}
        self.peak_held: dict[str, int] = {}
        self.holder_changes: list[tuple[float, str, int]] = []
        # Called whenever the allocated count changes (the exhaustion poller).
        self.on_allocated: Callable[[], None] | None = None
        # Addresses other consumers hold (private endpoints, load balancers): taken first,
        # so they count as allocated in every figure from t = 0 on, and never come back.
        self.reserved: list[int] = self.take(reserved, holder=RESERVED_HOLDER) or []

    @property
    def capacity(self) -> int:
        return self.pool.capacity

    @property
    def allocated(self) -> int:
        return self.pool.allocated

    def take(self, count: int, *, holder: str, avoid: Collection[int] = ()) -> list[int] | None:
        """All-or-nothing allocation; ``None`` (and a full mark) when too few are free.

        ``holder`` names who holds them (``cluster/node pool``) for the per-holder view;
        free addresses in ``avoid`` are not handed out."""
        got = self.pool.take(count, avoid)
        if got is None:
            self.mark_full()
        elif got:
            self._hold(holder, len(got))
            self._changed()
        return got

    def take_upto(self, count: int, *, holder: str, avoid: Collection[int] = ()) -> list[int]:
        """As many as possible up to ``count`` (partial fulfilment)."""
        room = self.pool.free - self.pool.free_among(avoid)
        got = self.pool.take(min(count, room), avoid) or []
        if len(got) < count:
            self.mark_full()
        if got:
            self._hold(holder, len(got))
            self._changed()
        return got

    def give_back(self, addresses: Iterable[int], *, holder: str) -> None:
        returned = self.pool.give_back(addresses)
        if returned:
            self._hold(holder, -returned)
            self._changed()
            waiters, self._waiters = self._waiters, []
            for wake in waiters:
                wake()

    def wait_for_free(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` the next time addresses are given back."""
        self._waiters.append(wake)

    def mark_full(self) -> None:
        self.full_events += 1
        if self.full_at_s is None:
            self.full_at_s = self._clock.now

    def assign_delta(self, delta: int) -> None:
        """Pods took (+) or gave back (−) addresses: only the assigned count moves."""
        assigned = self.assigned = self.assigned + delta
        if assigned > self.peak_assigned:
            self.peak_assigned = assigned
        now = self._clock.now
        if self._times[-1] == now:
            self._assigned[-1] = assigned
        else:
            self._times.append(now)
            self._allocated.append(self._allocated[-1])
            self._assigned.append(assigned)

    def change_points(self) -> np.ndarray:
        """The change points as rows of (time, allocated, assigned), floats."""
        return np.column_stack(
            [
                np.frombuffer(self._times, dtype=float),
                np.frombuffer(self._allocated, dtype=np.int64).astype(float),
                np.frombuffer(self._assigned, dtype=np.int64).astype(float),
            ]
        )

    @property
    def change_count(self) -> int:
        """How many change points there are (the last one may still be rewritten)."""
        return len(self._times)

    def _hold(self, holder: str, delta: int) -> None:
        count = self.held_by.get(holder, 0) + delta
        self.held_by[holder] = count
        if count > self.peak_held.get(holder, 0):
            self.peak_held[holder] = count
        now = self._clock.now
        last = self.holder_changes[-1] if self.holder_changes else None
        if last is not None and last[0] == now and last[1] == holder:
            self.holder_changes[-1] = (now, holder, count)
        else:
            self.holder_changes.append((now, holder, count))

    def set_exhausted(self, flag: bool) -> None:
        self.exhausted = flag
        self.exhaustion_flips.append((self._clock.now, flag))

    def exhausted_seconds(self, end: float) -> float:
        """Total time the flag was set between 0 and ``end``."""
        total, since = 0.0, None
        for when, flag in self.exhaustion_flips:
            if flag:
                since = when
            elif since is not None:
                total += when - since
                since = None
        return total + (end - since if since is not None else 0.0)

    def _changed(self) -> None:
        now = self._clock.now
        allocated = self.pool.allocated
        if self.on_allocated is not None and allocated != self._allocated[-1]:
            self.on_allocated()
        self.peak_allocated = max(self.peak_allocated, allocated)
        if self._times[-1] == now:
            self._allocated[-1] = allocated
            self._assigned[-1] = self.assigned
        else:
            self._times.append(now)
            self._allocated.append(allocated)
            self._assigned.append(self.assigned)
