"""Invariants of a simulated world: every address accounted for, exactly once.

:func:`check` looks at a world between two events and raises :class:`AssertionError`
naming the broken rule, the time, the subnet, the node or pod and the address:

* a subnet holds at most its usable addresses, each inside the subnet and none of the
  five Azure reserves; it counts as allocated exactly the addresses it holds;
* every held address belongs to exactly one live node (node IP, NC primary, NC
  secondaries or a traditional node's fixed set) or is one of the subnet's reserved
  addresses (other consumers), and the addresses each holder holds add up to the
  subnet's per-holder count;
* a live dynamic node's CNS knows exactly the secondaries of its NC status, and no
  address its NNC spec lists in ipsNotInUse is assigned to a pod; a traditional node
  holds 1 + max pods addresses;
* no subnet has more addresses assigned to pods than allocated; the assigned count is
  the number of pods holding an address from it;
* a running pod (not hostNetwork) holds exactly one address, assigned to it by its own
  live node's CNS, from its pool's pod subnet (dynamic) or its node's set
  (traditional); no two pods hold the same address;
* a subnet's exhausted flag flips at most once per poll interval (the control plane
  polls periodically).

:func:`check_at_rest` is for the end of a run: a pool monitor v1 node whose pool has
not changed for a while keeps at least minFree requested addresses unassigned, unless
its request is at the node's maximum.

``World.run(check=check)`` calls :func:`check` at every change point of the run.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from simulator.core.addressing import SubnetPool
from simulator.model.subnets import RESERVED_HOLDER

if TYPE_CHECKING:
    from simulator.model.cluster import ClusterRuntime
    from simulator.model.entities import Node, Pod
    from simulator.model.subnets import SubnetState
    from simulator.model.world import World

__all__ = ["check", "check_at_rest", "check_drained"]

_text = SubnetPool.text

# Per world, per cluster: pods seen so far and those not yet deleted. Deleted pods never
# come back, so each check looks at the live ones only, however many came and went.
_OPEN: weakref.WeakKeyDictionary[World, dict[str, tuple[int, dict[Pod, None]]]] = (
    weakref.WeakKeyDictionary()
)


def _fail(world: World, message: str) -> None:
    raise AssertionError(f"t={world.env.now:g}s: {message}")


def _node_holdings(cluster: ClusterRuntime, node: Node) -> list[tuple[SubnetState, list[int]]]:
    """What one live node holds, subnet by subnet: its node IP, then what its mode holds."""
    out: list[tuple[SubnetState, list[int]]] = []
    if node.node_ip is not None:
        out.append((node.node_subnet, [node.node_ip]))
    return out + node.mode.pod_holdings(node)


def _open_pods(world: World, cluster: ClusterRuntime) -> dict[Pod, None]:
    per_world = _OPEN.setdefault(world, {})
    seen, live = per_world.get(cluster.spec.name, (0, {}))
    for pod in cluster.pods[seen:]:
        live[pod] = None
    for pod in [p for p in live if p.deleted_s is not None]:
        del live[pod]
    per_world[cluster.spec.name] = (len(cluster.pods), live)
    return live


def check(world: World) -> None:
    """Raise :class:`AssertionError` if the world's addresses are not all accounted for."""
    # subnet -> addresses held by live nodes (combined in C; duplicates found by count).
    held: dict[str, set[int]] = {name: set() for name in world.subnets}
    counted: dict[str, int] = dict.fromkeys(world.subnets, 0)
    by_holder: dict[str, dict[str, int]] = {name: {} for name in world.subnets}
    assigned: dict[str, int] = dict.fromkeys(world.subnets, 0)
    for name, subnet in world.subnets.items():  # held by other consumers
        if subnet.reserved:
            held[name].update(subnet.reserved)
            counted[name] += len(subnet.reserved)
            by_holder[name][RESERVED_HOLDER] = len(subnet.reserved)
    for cluster in world.clusters.values():
        for node in cluster.nodes:
            if not node.alive:
                continue
            if node.node_ip is None:
                _fail(world, f"live node {node.name} has no node IP")
            for subnet, addresses in _node_holdings(cluster, node):
                held[subnet.name].update(addresses)
                counted[subnet.name] += len(addresses)
                holders = by_holder[subnet.name]
                holders[node.holder] = holders.get(node.holder, 0) + len(addresses)
            if node.ips.held != len(node.ips.all_addresses()):
                _fail(
                    world,
                    f"node {node.name}: its pool counts {node.ips.held} addresses but holds "
                    f"{len(node.ips.all_addresses())}",
                )
            broken = node.mode.check_node(node)
            if broken is not None:
                _fail(world, broken)
            _check_node_pods(world, cluster, node)
            assigned[node.mode.pod_subnet(node).name] += len(node.ips.assigned)
        for pod in _open_pods(world, cluster):
            if pod.phase == "running" and not pod.host_network:
                node = pod.node
                assert node is not None
                if not node.alive or pod not in node.pods:
                    _fail(world, f"running pod {pod.name} is not on a live node ({node.name})")
                if pod.ip is None:
                    _fail(world, f"running pod {pod.name} on {node.name} has no address")
    for name, subnet in world.subnets.items():
        _check_subnet(world, subnet, held[name], counted[name], by_holder[name], assigned[name])
    for name, subnet in world.subnets.items():
        flips, interval = subnet.exhaustion_flips, subnet.exhaustion_poll
        if (
            interval is not None
            and len(flips) >= 2
            and flips[-1][0] - flips[-2][0] < interval - 1e-9
        ):
            _fail(
                world,
                f"subnet {name}: exhausted flag flipped at t={flips[-2][0]:g}s and again at "
                f"t={flips[-1][0]:g}s; the control plane polls every {interval:g}s",
            )


def _check_node_pods(world: World, cluster: ClusterRuntime, node: Node) -> None:
    """The node's CNS assigns an address to exactly the pods on it holding one."""
    holding: dict[int, Pod] = {}
    for pod in node.pods:
        if pod.ip is None:
            continue
        other = holding.get(pod.ip)
        if other is not None:
            _fail(
                world,
                f"pods {other.name} and {pod.name} on {node.name} share {_text(pod.ip)}",
            )
        holding[pod.ip] = pod
    assignments = node.ips.assigned
    if holding.keys() != assignments.keys() or any(
        assignments[a] is not p for a, p in holding.items()
    ):
        both = holding.keys() | assignments.keys()
        a = min(x for x in both if assignments.get(x) is not holding.get(x))
        owner = assignments.get(a)
        _fail(
            world,
            f"node {node.name}: {_text(a)} is assigned by CNS to "
            f"{getattr(owner, 'name', 'nobody')} but held by pod "
            f"{getattr(holding.get(a), 'name', 'none')}",
        )
    subnet = node.mode.pod_subnet(node)
    for address, pod in holding.items():
        if not subnet.pool.contains(address):
            _fail(
                world,
                f"pod {pod.name} on {node.name} holds {_text(address)}, outside its pod "
                f"subnet {subnet.name} ({subnet.pool.cidr})",
            )


def _check_subnet(
    world: World,
    subnet: SubnetState,
    held: set[int],
    counted: int,
    by_holder: dict[str, int],
    assigned: int,
) -> None:
    pool = subnet.pool
    name = f"subnet {subnet.name} ({pool.cidr})"
    if counted != len(held):
        _fail(world, f"{name}: {_twice(world, subnet)} held twice")
    actual = pool._held  # the pool's own record of what it handed out
    if pool.allocated > pool.capacity:
        _fail(world, f"{name}: {pool.allocated} allocated > {pool.capacity} usable")
    if actual and not (pool.contains(min(actual)) and pool.contains(max(actual))):
        bad = min(actual) if not pool.contains(min(actual)) else max(actual)
        _fail(world, f"{name}: {_text(bad)} is held but outside the usable range (reserved?)")
    if held != actual:
        orphan = sorted(actual - held)[:3]
        ghost = sorted(held - actual)[:3]
        _fail(
            world,
            f"{name}: nodes hold {len(held)} addresses, the subnet counts {len(actual)} "
            f"allocated (held by no live node: {[_text(a) for a in orphan]}; held by a node "
            f"but free in the subnet: {[_text(a) for a in ghost]})",
        )
    recorded = {h: c for h, c in subnet.held_by.items() if c}
    if recorded != {h: c for h, c in by_holder.items() if c}:
        _fail(world, f"{name}: per-holder counts {recorded} but nodes hold {by_holder}")
    if subnet.assigned != assigned:
        _fail(
            world,
            f"{name}: {subnet.assigned} assigned but {assigned} pods hold an address from it",
        )
    if not 0 <= subnet.assigned <= pool.allocated:
        _fail(world, f"{name}: {subnet.assigned} assigned > {pool.allocated} allocated")


def _twice(world: World, subnet: SubnetState) -> str:
    """Which address two live nodes both hold, and who they are (the slow path)."""
    owner: dict[int, str] = {}
    for cluster in world.clusters.values():
        for node in cluster.nodes:
            if not node.alive:
                continue
            for where, addresses in _node_holdings(cluster, node):
                if where is not subnet:
                    continue
                for address in addresses:
                    if address in owner:
                        return f"{_text(address)} is held by {owner[address]} and {node.name}:"
                    owner[address] = node.name
    return "an address is"


def check_drained(world: World) -> None:
    """Every address of every subnet is free, but those other consumers hold, and no pod
    holds one (after every node is gone)."""
    check(world)
    for subnet in world.subnets.values():
        if subnet.allocated > len(subnet.reserved) or subnet.assigned:
            holders = {h: c for h, c in subnet.held_by.items() if c}
            _fail(
                world,
                f"subnet {subnet.name}: {subnet.allocated} addresses still allocated and "
                f"{subnet.assigned} assigned after the drain (holders: {holders})",
            )


def check_at_rest(world: World, quiet: float | None = None) -> int:
    """Pool monitor v1 at rest: a live node whose pool has not changed for ``quiet``
    seconds (default: two monitor intervals) keeps requested − assigned ≥ minFree, unless
    its request is at the node's maximum. Returns how many nodes were checked."""
    last_row: dict[str, float] = {}
    for when, node, _state in world.recorder.nnc:
        last_row[node.name] = when
    checked = 0
    for cluster in world.clusters.values():
        for mode in cluster.modes.values():
            count, broken = mode.check_at_rest(last_row, quiet)
            if broken is not None:
                _fail(world, broken)
            checked += count
    return checked
