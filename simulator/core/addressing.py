"""Azure's address facts, once, and subnet address pools (pure core: no SimPy, no randomness).

Azure keeps five addresses of every subnet for itself: the network address, the default
gateway (.1), two addresses for Azure DNS (.2 and .3) and the last address; a subnet is
a /29 at the smallest and a /8 at the largest (reference/azure-cni.md §1). Reserved
addresses are never handed out here.
"""

from __future__ import annotations

import heapq
import ipaddress
import socket
from collections.abc import Collection, Iterable

__all__ = [
    "AZURE_RESERVED",
    "MAX_PREFIX",
    "MIN_PREFIX",
    "SubnetPool",
    "block_capacity",
    "smallest_block_prefix",
    "smallest_prefix",
    "usable_addresses",
]

#: Addresses Azure reserves in every subnet.
AZURE_RESERVED = 5
#: Azure's largest (/8) and smallest (/29) subnet, as prefix lengths.
MIN_PREFIX, MAX_PREFIX = 8, 29


def usable_addresses(prefixlen: int) -> int:
    """Usable addresses of an IPv4 subnet of that prefix length: ``2**(32 - prefix) - 5``."""
    return 2 ** (32 - prefixlen) - AZURE_RESERVED


def smallest_prefix(addresses: int) -> int | None:
    """The longest prefix (smallest subnet) with at least ``addresses`` usable; None if
    even a /8 is too small."""
    for prefix in range(MAX_PREFIX, MIN_PREFIX - 1, -1):
        if usable_addresses(prefix) >= addresses:
            return prefix
    return None


def block_capacity(prefixlen: int, block: int) -> int:
    """Aligned blocks of ``block`` addresses (a power of two) a subnet hands out whole.

    The first block holds the network, gateway and DNS addresses and the last one the
    last address, so neither is handed out (an assumption; see docs/model.md)."""
    block_prefix = 32 - (block.bit_length() - 1)
    if prefixlen > block_prefix:
        return 0
    return max(2 ** (block_prefix - prefixlen) - 2, 0)


def smallest_block_prefix(blocks: int, block: int) -> int | None:
    """The longest prefix whose subnet hands out at least ``blocks`` whole blocks."""
    block_prefix = 32 - (block.bit_length() - 1)
    for prefix in range(min(MAX_PREFIX, block_prefix - 1), MIN_PREFIX - 1, -1):
        if block_capacity(prefix, block) >= blocks:
            return prefix
    return None


class SubnetPool:
    """The addresses of one subnet, handed out lowest first and taken back in any order.

    Addresses are plain ``int`` values (``int(IPv4Address)``), which keeps the hot path
    cheap; :meth:`text` renders one. Lowest-first reuse keeps runs reproducible and
    resembles how Azure fills a subnet from the bottom.
    """

    def __init__(self, name: str, cidr: str) -> None:
        self.name = name
        self.network = ipaddress.IPv4Network(cidr)
        self.cidr = str(self.network)
        base = int(self.network.network_address)
        # .0 network, .1 gateway, .2 and .3 Azure DNS; the broadcast address is the 5th.
        self._first = base + 4
        self._last = int(self.network.broadcast_address) - 1
        self.capacity = self._last - self._first + 1
        self._next = self._first  # every address at or above this one is free
        self._freed: list[int] = []  # free addresses below ``_next`` (a min-heap)
        self._held: set[int] = set()

    @property
    def allocated(self) -> int:
        """Addresses currently held by someone."""
        return len(self._held)

    @property
    def free(self) -> int:
        """Addresses that can still be handed out."""
        return self.capacity - len(self._held)

    def take(self, count: int, avoid: Collection[int] = ()) -> list[int] | None:
        """Hand out ``count`` addresses, all or nothing; ``None`` when too few are free.

        Free addresses in ``avoid`` are passed over (they stay free for others)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        if count > self.free - self.free_among(avoid):
            return None
        out: list[int] = []
        skipped: list[int] = []
        while len(out) < count and self._freed:
            address = heapq.heappop(self._freed)
            (skipped if address in avoid else out).append(address)
        while len(out) < count:
            address = self._next
            self._next += 1
            (skipped if address in avoid else out).append(address)
        for address in skipped:  # still free: back below ``_next``
            heapq.heappush(self._freed, address)
        self._held.update(out)
        return out

    def free_among(self, addresses: Collection[int]) -> int:
        """How many of ``addresses`` are free addresses of this subnet."""
        return sum(1 for a in addresses if self._first <= a <= self._last and a not in self._held)

    def give_back(self, addresses: Iterable[int]) -> int:
        """Return addresses to the pool; returns how many came back."""
        count = 0
        for address in addresses:
            if address not in self._held:
                raise ValueError(f"{self.text(address)} is not held in subnet {self.name}")
            self._held.remove(address)
            heapq.heappush(self._freed, address)
            count += 1
        return count

    def holds(self, address: int) -> bool:
        """Whether ``address`` is currently handed out."""
        return address in self._held

    def contains(self, address: int) -> bool:
        """Whether ``address`` is a usable (non-reserved) address of this subnet."""
        return self._first <= address <= self._last

    @staticmethod
    def text(address: int) -> str:
        """Dotted-quad form of an address (``socket``'s converter: results list millions)."""
        return socket.inet_ntoa(address.to_bytes(4, "big"))
