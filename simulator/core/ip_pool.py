"""The node agent's (CNS) view of one node's secondary IPs and their states.

States follow CNS (reference/azure-cni.md §4): ``PendingProgramming`` until the host has
programmed a new address, ``Available``, ``Assigned`` to a pod, and ``PendingRelease``
once the pool monitor has chosen it for release. Pure core: no SimPy.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

__all__ = ["NodeIpPool"]


class NodeIpPool:
    """Secondary addresses known to a node's CNS, by state."""

    def __init__(self) -> None:
        # Ordered so that choices are deterministic: pods get the address that has been
        # free the longest; releases take the most recently added addresses first.
        self.available: OrderedDict[int, None] = OrderedDict()
        self.pending_programming: OrderedDict[int, None] = OrderedDict()
        self.pending_release: set[int] = set()
        self.assigned: dict[int, object] = {}
        # Every secondary address CNS knows, whatever its state: a count kept as they
        # come and go, read on every pool change.
        self.held = 0

    def add_pending_programming(self, addresses: Iterable[int]) -> None:
        """New addresses from the control plane, not yet usable by pods."""
        before = len(self.pending_programming)
        for address in addresses:
            self.pending_programming[address] = None
        self.held += len(self.pending_programming) - before

    def add_available(self, addresses: Iterable[int]) -> None:
        """Addresses usable at once (traditional CNI's fixed set)."""
        before = len(self.available)
        for address in addresses:
            self.available[address] = None
        self.held += len(self.available) - before

    def program(self, addresses: Iterable[int]) -> int:
        """Move programmed addresses to Available; returns how many moved.

        Addresses marked for release meanwhile stay PendingRelease.
        """
        moved = 0
        for address in addresses:
            if address in self.pending_programming:
                del self.pending_programming[address]
                self.available[address] = None
                moved += 1
        return moved

    def assign(self, owner: object) -> int | None:
        """Give an Available address to ``owner``; ``None`` when there is none."""
        if not self.available:
            return None
        address, _ = self.available.popitem(last=False)
        self.assigned[address] = owner
        return address

    def release(self, address: int) -> None:
        """A pod has let go of its address: it is Available again."""
        del self.assigned[address]
        self.available[address] = None

    def mark_pending_release(self, count: int) -> list[int]:
        """Mark up to ``count`` unassigned addresses PendingRelease, as CNS does.

        PendingProgramming addresses go first, then Available ones; Assigned addresses
        are never taken. Returns the addresses marked (possibly fewer than asked).
        """
        marked: list[int] = []
        for source in (self.pending_programming, self.available):
            while source and len(marked) < count:
                address, _ = source.popitem(last=True)
                marked.append(address)
        self.pending_release.update(marked)
        return marked

    def remove(self, addresses: Iterable[int]) -> None:
        """The control plane took addresses back: forget them, whatever their state."""
        for address in addresses:
            if address in self.assigned:
                raise ValueError("an assigned address cannot be taken back")
            if address in self.pending_release:
                self.pending_release.discard(address)
            elif address in self.pending_programming:
                del self.pending_programming[address]
            elif address in self.available:
                del self.available[address]
            else:
                continue
            self.held -= 1

    def all_addresses(self) -> list[int]:
        """Every address this pool holds."""
        return [
            *self.available,
            *self.pending_programming,
            *self.pending_release,
            *self.assigned,
        ]
