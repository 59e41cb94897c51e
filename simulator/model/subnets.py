"""An address space as the model sees it (a VNet subnet, or a cluster's pod CIDR): its
address pool plus usage counters and change points."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Collection, Iterable
from typing import Protocol

import numpy as np

from simulator.core.addressing import CidrBlocks, SubnetPool

__all__ = [
    "POD_CIDR",
    "RESERVED_HOLDER",
    "VNET",
    "Clock",
    "SubnetState",
    "VnetUsage",
    "pod_cidr_space",
]

#: The kinds of address space: a subnet of a VNet, or a cluster's private pod CIDR.
VNET, POD_CIDR = "vnet", "pod_cidr"

#: Who holds a subnet's ``reserved`` addresses in per-holder reports (``cluster/node pool``
#: form): other consumers of the subnet, not a cluster of the scenario.
RESERVED_HOLDER = "(others)/reserved"


def pod_cidr_space(cluster: str) -> str:
    """The name of a cluster's pod CIDR among the address spaces (``pod_cidr:aks1``:
    no subnet name holds a colon)."""
    return f"{POD_CIDR}:{cluster}"


class Clock(Protocol):
    """Anything with the current simulated time as ``now`` (a SimPy environment)."""

    @property
    def now(self) -> float: ...


class VnetUsage:
    """What one VNet's subnets hold together: addresses, and entries toward the VNet's
    private-address limit (an address each, a static /28 block as one), with peaks."""

    __slots__ = ("addresses", "mappings", "peak_addresses", "peak_mappings")

    def __init__(self) -> None:
        self.addresses = self.peak_addresses = 0
        self.mappings = self.peak_mappings = 0

    def add(self, addresses: int, mappings: int) -> None:
        self.addresses += addresses
        if self.addresses > self.peak_addresses:
            self.peak_addresses = self.addresses
        self.mappings += mappings
        if self.mappings > self.peak_mappings:
            self.peak_mappings = self.mappings


class SubnetState:
    """Addresses held by nodes (allocated) and used by pods (assigned), over time."""

    def __init__(
        self,
        name: str,
        cidr: str,
        vnet: str,
        clock: Clock,
        reserved: int = 0,
        *,
        pool: SubnetPool | CidrBlocks | None = None,
        space: str = VNET,
        usages: tuple[VnetUsage, ...] = (),
    ) -> None:
        self.pool = pool if pool is not None else SubnetPool(name, cidr)
        self.name = name
        self.vnet = vnet
        self.space = space
        # Running totals this space adds to: its VNet's and all VNets' (none for a pod
        # CIDR: it holds no VNet addresses).
        self.usages = usages
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
        # Addresses (and blocks) held per ``cluster/node pool`` and every change of them.
        self.held_by: dict[str, int] = {}
        self.peak_held: dict[str, int] = {}
        self.blocks_by: dict[str, int] = {}
        self.holder_changes: list[tuple[float, str, int, int]] = []
        # Blocks held (static /28s, a pod CIDR's /24s) and usable size, when they change.
        self.peak_blocks = 0
        self.block_changes: list[tuple[float, int]] = [(0.0, 0)]
        self.capacity_changes: list[tuple[float, int, str]] = [
            (0.0, self.pool.capacity, self.pool.cidr)
        ]
        # Called whenever the allocated count changes (the exhaustion poller).
        self.on_allocated: Callable[[], None] | None = None
        # Addresses other consumers hold (private endpoints, load balancers): taken first,
        # so they count as allocated in every figure from t = 0 on, and never come back.
        self.reserved: list[int] = (
            (self.take(reserved, holder=RESERVED_HOLDER) or []) if reserved else []
        )

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
        returned = self.pool.give_back(addresses)  # type: ignore[union-attr]
        if returned:
            self._hold(holder, -returned)
            self._changed()
            self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for wake in waiters:
            wake()

    def take_blocks(self, count: int, *, holder: str) -> list[int] | None:
        """``count`` whole blocks, all or nothing; ``None`` (and a full mark) when too
        few are free. Returns the blocks' ids (the pool's indices or base addresses)."""
        got = self.pool.take_blocks(count)
        if got is None:
            self.mark_full()
            return None
        if got:
            addresses = sum(len(self.pool.block_addresses(b)) for b in got)
            self._hold(holder, addresses, mappings=len(got), blocks=len(got))
            self._blocks_changed()
            self._changed()
        return got

    def give_back_blocks(self, blocks: list[int], *, holder: str) -> None:
        returned = self.pool.give_back_blocks(blocks)
        if blocks:
            self._hold(holder, -returned, mappings=-len(blocks), blocks=-len(blocks))
            self._blocks_changed()
            self._changed()
            self._wake()

    def block_addresses(self, block: int) -> range:
        """The usable addresses of one block this space handed out."""
        return self.pool.block_addresses(block)

    def expand(self, cidr: str) -> None:
        """Widen a pod CIDR to ``cidr``, a range that contains it."""
        self.pool.expand(cidr)  # type: ignore[union-attr]
        now = self._clock.now
        if self.capacity_changes[-1][0] == now:
            self.capacity_changes.pop()
        self.capacity_changes.append((now, self.pool.capacity, self.pool.cidr))
        self._wake()

    def _blocks_changed(self) -> None:
        blocks = self.pool.blocks_held
        self.peak_blocks = max(self.peak_blocks, blocks)
        now = self._clock.now
        if self.block_changes[-1][0] == now:
            self.block_changes[-1] = (now, blocks)
        else:
            self.block_changes.append((now, blocks))

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

    def _hold(
        self, holder: str, delta: int, *, mappings: int | None = None, blocks: int = 0
    ) -> None:
        for usage in self.usages:
            usage.add(delta, delta if mappings is None else mappings)
        count = self.held_by.get(holder, 0) + delta
        self.held_by[holder] = count
        if count > self.peak_held.get(holder, 0):
            self.peak_held[holder] = count
        held_blocks = self.blocks_by.get(holder, 0) + blocks
        if blocks:
            self.blocks_by[holder] = held_blocks
        now = self._clock.now
        last = self.holder_changes[-1] if self.holder_changes else None
        if last is not None and last[0] == now and last[1] == holder:
            self.holder_changes[-1] = (now, holder, count, held_blocks)
        else:
            self.holder_changes.append((now, holder, count, held_blocks))

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
