"""Subnet pools: Azure's five reserved addresses and exact capacities."""

import ipaddress

import pytest

from simulator.core.addressing import SubnetPool, usable_addresses


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
