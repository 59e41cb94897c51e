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
    "CidrBlocks",
    "SubnetPool",
    "block_capacity",
    "block_prefix",
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


def block_prefix(block: int) -> int:
    """The prefix length of an aligned block of ``block`` addresses (a power of two):
    16 -> 28, 256 -> 24."""
    return 32 - (block.bit_length() - 1)


def block_capacity(prefixlen: int, block: int, *, edges: bool = False) -> int:
    """Aligned blocks of ``block`` addresses (a power of two) a subnet hands out.

    The first block holds the network, gateway and DNS addresses and the last one the
    last address: by default neither is handed out; with ``edges`` both are, with only
    their usable addresses (which is Azure's is not public; see docs/model.md)."""
    prefix = block_prefix(block)
    if prefixlen > prefix:
        return 0
    return max(2 ** (prefix - prefixlen) - (0 if edges else 2), 0)


def smallest_block_prefix(blocks: int, block: int, *, edges: bool = False) -> int | None:
    """The longest prefix whose subnet hands out at least ``blocks`` blocks."""
    for prefix in range(min(MAX_PREFIX, block_prefix(block) - 1), MIN_PREFIX - 1, -1):
        if block_capacity(prefix, block, edges=edges) >= blocks:
            return prefix
    return None


class SubnetPool:
    """The addresses of one subnet, handed out lowest first and taken back in any order.

    Addresses are plain ``int`` values (``int(IPv4Address)``), which keeps the hot path
    cheap; :meth:`text` renders one. Lowest-first reuse keeps runs reproducible and
    resembles how Azure fills a subnet from the bottom.

    Besides single addresses, a pool hands out aligned blocks (static block
    allocation's /28s, :meth:`take_blocks`), lowest free block first: a block is free
    only when none of its addresses is held, so single addresses scattered over a
    subnet leave it without blocks while it still has free addresses.
    """

    def __init__(self, name: str, cidr: str) -> None:
        self.name = name
        self.network = ipaddress.IPv4Network(cidr)
        self.cidr = str(self.network)
        base = int(self.network.network_address)
        self._base = base
        # .0 network, .1 gateway, .2 and .3 Azure DNS; the broadcast address is the 5th.
        self._first = base + 4
        self._last = int(self.network.broadcast_address) - 1
        self.capacity = self._last - self._first + 1
        self._next = self._first  # every address at or above this one is free (or in a block)
        self._freed: list[int] = []  # free addresses below ``_next`` (a min-heap)
        self._held: set[int] = set()
        # Blocks, kept only once a block is asked for: held addresses per block, free
        # blocks below ``_next_block`` (a lazy min-heap: entries are checked when
        # popped) and the first block from which on every block is wholly free.
        self._block = 0  # addresses per block; 0 while no block was ever asked for
        self._shift = 0
        self._edges = False
        self._in_block: dict[int, int] = {}
        self._free_blocks: list[int] = []
        self._next_block = 0
        self.blocks_held = 0

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
        if self._block:
            return self._take_among_blocks(count, avoid)
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

    def _take_among_blocks(self, count: int, avoid: Collection[int]) -> list[int]:
        """``take`` once blocks are handed out: addresses in a held block are passed
        over, and every address taken marks its block as not free."""
        held = self._held
        out: list[int] = []
        skipped: list[int] = []
        seen: set[int] = set()
        while len(out) < count and self._freed:
            address = heapq.heappop(self._freed)
            # Taken with a block since it was freed, or listed twice (freed, taken with
            # a block, freed again with it): the heap's entries are checked here.
            if address in held or address in seen:
                continue
            seen.add(address)
            (skipped if address in avoid else out).append(address)
        while len(out) < count:
            address = self._next
            self._next += 1
            if address in held:
                continue
            (skipped if address in avoid else out).append(address)
        for address in skipped:
            heapq.heappush(self._freed, address)
        held.update(out)
        for address in out:
            self._count_in_block(address, 1)
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
            if address < self._next:  # at or above it, free without a heap entry
                heapq.heappush(self._freed, address)
            if self._block:
                self._count_in_block(address, -1)
            count += 1
        return count

    # --- blocks ------------------------------------------------------------------------

    def track_blocks(self, block: int, *, edges: bool = False) -> None:
        """Hand out aligned blocks of ``block`` addresses from now on. ``edges``: the
        first and last block, which hold Azure's reserved addresses, are handed out too
        (with their usable addresses only)."""
        if self._block:
            if (block, edges) != (self._block, self._edges):
                raise ValueError(f"subnet {self.name} already hands out blocks of {self._block}")
            return
        if block < 2 or block & (block - 1):
            raise ValueError(f"block size {block} is no power of two")
        # A subnet smaller than a block has none (block_count 0) and fails every request.
        self._block, self._shift, self._edges = block, block.bit_length() - 1, edges
        for address in self._held:
            index = (address - self._base) >> self._shift
            self._in_block[index] = self._in_block.get(index, 0) + 1
        # Every block wholly at or above ``_next`` is free; the ones below it are free
        # when none of their addresses is held.
        self._next_block = -((self._base - self._next) >> self._shift)
        self._free_blocks = [b for b in range(self._next_block) if not self._in_block.get(b)]

    @property
    def block_count(self) -> int:
        """Aligned blocks the subnet has, edge blocks included."""
        return self.network.num_addresses >> self._shift if self._block else 0

    @property
    def usable_blocks(self) -> int:
        """Aligned blocks it hands out: without ``edges``, the first and last are not."""
        return self.block_count if self._edges else max(self.block_count - 2, 0)

    def _block_usable(self, index: int) -> bool:
        if self._edges:
            return index < self.block_count
        return 0 < index < self.block_count - 1

    def block_addresses(self, index: int) -> range:
        """The usable addresses of block ``index``."""
        start = self._base + (index << self._shift)
        return range(max(start, self._first), min(start + self._block - 1, self._last) + 1)

    def _count_in_block(self, address: int, delta: int) -> None:
        index = (address - self._base) >> self._shift
        count = self._in_block.get(index, 0) + delta
        if count:
            self._in_block[index] = count
        else:
            self._in_block.pop(index, None)
        if delta > 0 and index >= self._next_block:
            # The blocks passed over are wholly free: they join the heap.
            for skipped in range(self._next_block, index):
                heapq.heappush(self._free_blocks, skipped)
            self._next_block = index + 1
        elif not count and index < self._next_block:
            heapq.heappush(self._free_blocks, index)

    def take_blocks(self, count: int) -> list[int] | None:
        """Hand out ``count`` free blocks, lowest first, all or nothing (their indices);
        ``None`` when fewer are free. :meth:`track_blocks` comes first."""
        if not self._block:
            raise ValueError(f"subnet {self.name} hands out no blocks")
        got: list[int] = []
        while len(got) < count and self._free_blocks:
            index = heapq.heappop(self._free_blocks)
            if self._in_block.get(index) or not self._block_usable(index) or index in got:
                continue  # taken meanwhile (it comes back when freed), or an edge block
            got.append(index)
        while len(got) < count and self._next_block < self.block_count:
            index = self._next_block
            self._next_block += 1
            if self._block_usable(index):
                got.append(index)
            # a skipped edge block stays free for single addresses, never for a block
        if len(got) < count:
            for index in got:
                heapq.heappush(self._free_blocks, index)
            return None
        for index in got:
            addresses = self.block_addresses(index)
            self._held.update(addresses)
            self._in_block[index] = len(addresses)
        self.blocks_held += len(got)
        return got

    def give_back_blocks(self, indices: Iterable[int]) -> int:
        """Return whole blocks; returns how many addresses came back."""
        count = 0
        for index in indices:
            addresses = self.block_addresses(index)
            if self._in_block.get(index) != len(addresses):
                raise ValueError(f"block {index} is not held whole in subnet {self.name}")
            self._held.difference_update(addresses)
            for address in addresses:
                if address < self._next:
                    heapq.heappush(self._freed, address)
            del self._in_block[index]
            if index < self._next_block:
                heapq.heappush(self._free_blocks, index)
            self.blocks_held -= 1
            count += len(addresses)
        return count

    def free_blocks(self) -> int:
        """Blocks that could still be handed out (counted: for messages, not hot paths)."""
        if not self._block:
            return 0
        below = {
            b for b in self._free_blocks if not self._in_block.get(b) and self._block_usable(b)
        }
        above = sum(1 for b in range(self._next_block, self.block_count) if self._block_usable(b))
        return len(below) + above

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


class CidrBlocks:
    """A private range outside the VNet (a cluster's pod CIDR), handed out in aligned
    blocks only (a /24 per node), lowest free block first.

    It is not an Azure subnet: no address is reserved, so every address of the range
    counts (AKS's pre-flight message gives a /22 pod CIDR 1,024 "IPs available"). It
    can grow to a range that contains it (pod CIDR expansion)."""

    def __init__(self, name: str, cidr: str, block_prefix: int = 24) -> None:
        self.name = name
        self.block_prefix = block_prefix
        self.block = 2 ** (32 - block_prefix)
        self._blocks: set[int] = set()  # base addresses of the blocks handed out
        self._freed: list[int] = []  # free block bases below ``_next`` (a min-heap)
        self.blocks_held = 0
        self._set_range(ipaddress.IPv4Network(cidr))
        self._next = self._first

    def _set_range(self, network: ipaddress.IPv4Network) -> None:
        if network.prefixlen > self.block_prefix:
            raise ValueError(f"{network} holds no /{self.block_prefix}")
        self.network = network
        self.cidr = str(network)
        self._first = int(network.network_address)
        self._end = self._first + network.num_addresses
        self.capacity = network.num_addresses
        self.block_count = network.num_addresses // self.block

    @property
    def allocated(self) -> int:
        return len(self._blocks) * self.block

    @property
    def free(self) -> int:
        return self.capacity - self.allocated

    @property
    def usable_blocks(self) -> int:
        """Every /24 of a pod CIDR is handed out."""
        return self.block_count

    def free_blocks(self) -> int:
        return self.block_count - len(self._blocks)

    def take_blocks(self, count: int) -> list[int] | None:
        """Hand out ``count`` blocks (their base addresses), all or nothing."""
        if count > self.free_blocks():
            return None
        got: list[int] = []
        while len(got) < count and self._freed:
            got.append(heapq.heappop(self._freed))
        while len(got) < count:
            got.append(self._next)
            self._next += self.block
        self._blocks.update(got)
        self.blocks_held += len(got)
        return got

    def give_back_blocks(self, bases: Iterable[int]) -> int:
        count = 0
        for base in bases:
            if base not in self._blocks:
                raise ValueError(f"{self.text(base)} is no block held in {self.name}")
            self._blocks.remove(base)
            heapq.heappush(self._freed, base)
            self.blocks_held -= 1
            count += self.block
        return count

    def block_addresses(self, base: int) -> range:
        return range(base, base + self.block)

    def expand(self, cidr: str) -> None:
        """Grow to ``cidr``, a range containing this one: held blocks keep their
        addresses, and every other block of the new range is free."""
        network = ipaddress.IPv4Network(cidr)
        if not (self.network.subnet_of(network) and network != self.network):
            raise ValueError(f"{cidr} is not a larger range containing {self.cidr}")
        self._set_range(network)
        top = max(self._blocks, default=self._first - self.block) + self.block
        self._next = max(top, self._first)
        self._freed = [
            b for b in range(self._first, self._next, self.block) if b not in self._blocks
        ]

    @property
    def _held(self) -> set[int]:
        """Every address of the held blocks (for the invariants' checks only)."""
        return {a for base in self._blocks for a in range(base, base + self.block)}

    def holds(self, address: int) -> bool:
        return address - (address - self._first) % self.block in self._blocks

    def contains(self, address: int) -> bool:
        return self._first <= address < self._end

    text = staticmethod(SubnetPool.text)
