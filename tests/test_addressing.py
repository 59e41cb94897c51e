"""Subnet pools: Azure's five reserved addresses and exact capacities."""

import ipaddress

import pytest

from simulator.core.addressing import (
    CidrBlocks,
    SubnetPool,
    block_capacity,
    block_prefix,
    usable_addresses,
)


def test_a_slash_24_has_251_usable_addresses():
    assert SubnetPool("s", "10.0.0.0/24").capacity == 251
    assert usable_addresses(24) == 251
    assert usable_addresses(29) == 3
    assert usable_addresses(16) == 65531


def test_reserved_addresses_are_never_handed_out():
    pool = SubnetPool("s", "10.0.0.0/24")
    got = pool.take(251)
    assert got is not None and len(set(got)) == 251
    texts = {SubnetPool.text(a) for a in got}
    for reserved in ("10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.255"):
        assert reserved not in texts
    assert min(got) == int(ipaddress.IPv4Address("10.0.0.4"))
    assert max(got) == int(ipaddress.IPv4Address("10.0.0.254"))
    assert pool.take(1) is None
    assert pool.free == 0


def test_take_is_all_or_nothing_and_reuses_lowest_first():
    pool = SubnetPool("s", "10.0.0.0/29")  # 8 addresses, 3 usable
    assert pool.take(4) is None
    assert pool.allocated == 0
    first = pool.take(3)
    assert first is not None
    pool.give_back([first[1]])
    assert pool.take(1) == [first[1]]


def test_giving_back_an_address_not_held_is_refused():
    pool = SubnetPool("s", "10.0.0.0/24")
    (address,) = pool.take(1) or []
    pool.give_back([address])
    with pytest.raises(ValueError):
        pool.give_back([address])


def test_take_passes_over_addresses_to_avoid():
    pool = SubnetPool("s", "10.0.0.0/28")  # 11 usable: .4 to .14
    first = pool.take(3)
    assert [pool.text(a) for a in first] == ["10.0.0.4", "10.0.0.5", "10.0.0.6"]
    pool.give_back(first[:2])
    got = pool.take(2, avoid={first[0]})
    assert [pool.text(a) for a in got] == ["10.0.0.5", "10.0.0.7"]
    # The avoided address is still free and handed out to the next caller.
    assert pool.take(1) == [first[0]]
    # All or nothing counts free addresses to avoid as unavailable.
    free = [a for a in range(first[0], first[0] + 11) if not pool.holds(a)]
    assert pool.take(len(free), avoid={free[-1]}) is None
    assert len(pool.take(len(free) - 1, avoid={free[-1]})) == len(free) - 1
    assert pool.free == 1 and not pool.holds(free[-1])


# --- blocks (static block allocation) and a pod CIDR's /24s ---------------------------------


def _ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def test_blocks_are_aligned_slash_28s_lowest_first_without_the_edge_blocks():
    pool = SubnetPool("s", "10.0.0.0/26")  # 4 /28s; the first and the last hold reserved ones
    pool.track_blocks(16)
    assert pool.free_blocks() == 2
    got = pool.take_blocks(2)
    assert [pool.text(pool.block_addresses(b)[0]) for b in got] == ["10.0.0.16", "10.0.0.32"]
    assert pool.allocated == 32 and pool.blocks_held == 2
    assert pool.take_blocks(1) is None  # all or nothing; single addresses remain
    assert pool.free == 59 - 32
    assert pool.give_back_blocks(got[:1]) == 16
    assert pool.take_blocks(1) == got[:1]


def test_edge_blocks_are_handed_out_with_their_usable_addresses_only():
    pool = SubnetPool("s", "10.0.0.0/27")
    pool.track_blocks(16, edges=True)
    first, last = pool.take_blocks(2)
    assert len(pool.block_addresses(first)) == 12  # .4 to .15
    assert len(pool.block_addresses(last)) == 15  # .16 to .30
    assert pool.free == 0


def test_single_addresses_fragment_a_subnet_until_no_block_is_left():
    """A /24 hands out 14 whole /28s; one address held in each of them leaves none, while
    235 of its 251 addresses are still free."""
    pool = SubnetPool("s", "10.0.0.0/24")
    pool.track_blocks(16)
    assert pool.free_blocks() == 14
    everything = pool.take(251)
    assert everything is not None
    kept = {pool.block_addresses(b)[0] for b in range(16)}  # .4, .16, .32, ..., .240
    pool.give_back([a for a in everything if a not in kept])
    assert pool.free == 235
    assert pool.free_blocks() == 0 and pool.take_blocks(1) is None
    pool.give_back([_ip("10.0.0.48")])  # block 3 is whole again
    assert [pool.text(pool.block_addresses(b)[0]) for b in pool.take_blocks(1)] == ["10.0.0.48"]


def test_singles_pass_over_addresses_held_in_blocks():
    pool = SubnetPool("s", "10.0.0.0/26")
    pool.track_blocks(16)
    (block,) = pool.take_blocks(1)  # .16-.31, above every single address handed out
    got = pool.take(14)
    assert [pool.text(a) for a in got[:12]] == [f"10.0.0.{i}" for i in range(4, 16)]
    assert [pool.text(a) for a in got[12:]] == ["10.0.0.32", "10.0.0.33"]
    pool.give_back_blocks([block])
    assert [pool.text(a) for a in pool.take(2) or []] == ["10.0.0.16", "10.0.0.17"]


def test_blocks_and_singles_agree_with_a_plain_lowest_free_rule():
    """Random singles and blocks against the rule stated directly: the lowest free
    usable address; the lowest block whose every address is free."""
    import random

    rng = random.Random(3)
    pool = SubnetPool("s", "10.0.0.0/24")
    pool.take(5)  # before tracking starts: counted into the blocks
    pool.track_blocks(16)
    first, last = _ip("10.0.0.4"), _ip("10.0.0.254")
    held = set(range(first, first + 5))
    blocks: list[int] = []
    for _ in range(600):
        op = rng.random()
        if op < 0.35:
            want = rng.randint(1, 6)
            free = [a for a in range(first, last + 1) if a not in held]
            got = pool.take(want)
            assert got == (free[:want] if len(free) >= want else None)
            held.update(got or [])
        elif op < 0.55 and held - {a for b in blocks for a in pool.block_addresses(b)}:
            singles = sorted(held - {a for b in blocks for a in pool.block_addresses(b)})
            back = rng.sample(singles, rng.randint(1, min(4, len(singles))))
            pool.give_back(back)
            held.difference_update(back)
        elif op < 0.8:
            want = rng.randint(1, 3)
            whole = [
                b
                for b in range(1, 15)
                if not any(
                    a in held
                    for a in range(_ip("10.0.0.0") + 16 * b, _ip("10.0.0.0") + 16 * b + 16)
                )
            ]
            got = pool.take_blocks(want)
            assert got == (whole[:want] if len(whole) >= want else None)
            for b in got or []:
                held.update(pool.block_addresses(b))
                blocks.append(b)
        elif blocks:
            back = rng.sample(blocks, rng.randint(1, len(blocks)))
            pool.give_back_blocks(back)
            for b in back:
                blocks.remove(b)
                held.difference_update(pool.block_addresses(b))
        assert pool.allocated == len(held) and pool.blocks_held == len(blocks)


def test_a_pod_cidr_hands_out_slash_24s_of_the_whole_range():
    cidr = CidrBlocks("pod_cidr:aks1", "10.244.0.0/16")
    assert (cidr.capacity, cidr.block_count) == (65536, 256)  # no reserved addresses
    got = cidr.take_blocks(2)
    assert [cidr.text(b) for b in got] == ["10.244.0.0", "10.244.1.0"]
    assert cidr.allocated == 512 and cidr.holds(_ip("10.244.1.77"))
    assert cidr.take_blocks(255) is None
    cidr.give_back_blocks(got[:1])
    assert cidr.take_blocks(1) == got[:1]
    with pytest.raises(ValueError):
        cidr.give_back_blocks([_ip("10.244.9.0")])


def test_a_pod_cidr_expands_to_a_superset_only():
    cidr = CidrBlocks("p", "10.244.64.0/18")
    assert cidr.block_count == 64
    assert [cidr.text(b) for b in cidr.take_blocks(2)] == ["10.244.64.0", "10.244.65.0"]
    with pytest.raises(ValueError):
        cidr.expand("10.245.0.0/16")  # does not contain it
    with pytest.raises(ValueError):
        cidr.expand("10.244.64.0/18")  # not larger
    cidr.expand("10.244.0.0/16")
    assert (cidr.capacity, cidr.block_count, cidr.free_blocks()) == (65536, 256, 254)
    # Held blocks keep their addresses; the lowest free block now lies below them.
    assert [cidr.text(b) for b in cidr.take_blocks(1)] == ["10.244.0.0"]


def test_block_capacity_with_and_without_the_edge_blocks():
    # A /12 (the largest static block pod subnet) has 65,536 /28s.
    assert block_capacity(12, 16) == 65534 and block_capacity(12, 16, edges=True) == 65536
    assert block_capacity(26, 16) == 2 and block_capacity(27, 16) == 0
    assert block_capacity(28, 16, edges=True) == 1 and block_capacity(29, 16) == 0


def test_a_subnet_smaller_than_a_block_hands_out_none():
    pool = SubnetPool("s", "10.0.0.0/29")
    pool.track_blocks(16, edges=True)
    assert pool.block_count == 0 and pool.free_blocks() == 0
    assert pool.take_blocks(1) is None
    assert len(pool.take(3) or []) == 3


def test_an_aligned_block_has_the_prefix_length_of_its_size():
    assert [block_prefix(b) for b in (1, 16, 256, 65536)] == [32, 28, 24, 16]
