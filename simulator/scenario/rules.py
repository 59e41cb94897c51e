"""Cross-field rules of a scenario, checked the way Azure and AKS would refuse them.

Reference: reference/azure-cni.md §1 (subnets), §3 (max pods), §4 (pod subnet), §8
(static block), §9 (pod CIDRs, node limits), §10 (upgrades, pools added and replaced).
Each failure raises :class:`ScenarioError` naming the dotted field path, the value and
the rule.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from simulator.core import sample_grid
from simulator.core.addressing import (
    MAX_PREFIX,
    MIN_PREFIX,
    block_capacity,
    block_prefix,
    usable_addresses,
)
from simulator.core.modes import MODES, ModeSpec, NodeLoad, Space, simulated_modes
from simulator.core.units import format_duration
from simulator.core.vm_sizes import VM_SIZES, pool_allocatable, pool_gpus
from simulator.errors import Name, ScenarioError, item_keys
from simulator.scenario.models import (
    TIMELINE_ACTIONS,
    Autoscaler,
    Cluster,
    NodePool,
    Scenario,
)
from simulator.scenario.workloads import KIND_KEYS, KINDS, Workload

__all__ = ["SubnetRef", "grid_series", "resolve", "subnet_index"]

#: Ranges AKS refuses for pod, service and VNet ranges (concepts-network-cni-overview:
#: link-local, TEST-NET-1, and two ranges AKS keeps for itself; the last two checked
#: for kubenet and Overlay pod CIDRs since 2026-05).
RESERVED_RANGES = tuple(
    ipaddress.IPv4Network(c)
    for c in ("169.254.0.0/16", "192.0.2.0/24", "172.30.0.0/16", "172.31.0.0/16")
)


@dataclass(frozen=True)
class SubnetRef:
    """Where a subnet is declared."""

    vnet: str
    vnet_index: int
    index: int
    network: ipaddress.IPv4Network
    reserved: int = 0  # addresses other consumers hold


def subnet_index(scenario: Scenario) -> dict[str, SubnetRef]:
    """Every subnet by name (names are unique across the scenario)."""
    out: dict[str, SubnetRef] = {}
    for v, vnet in enumerate(scenario.network.vnets):
        for s, subnet in enumerate(vnet.subnets):
            out[subnet.name] = SubnetRef(
                vnet.name, v, s, ipaddress.IPv4Network(subnet.cidr), subnet.reserved
            )
    return out


def _choices(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(repr(n) for n in names) if names else "none"


def _unknown(kind: str, name: str, names: list[str], path: str) -> ScenarioError:
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {_choices(names)}"
    return ScenarioError(f"no {kind} named {name!r}{hint}", path=path)


def _unique(items: list[tuple[str, str]], kind: str, *, azure: bool = False) -> None:
    """Refuse a name given twice; ``azure``: also two that differ only in case, as Azure
    refuses them (its resource names are case-insensitive)."""
    seen: dict[str, tuple[str, str]] = {}
    for name, path in items:
        key = name.casefold() if azure else name
        if key in seen:
            first, where = seen[key]
            if first == name:
                message = f"duplicate {kind} name {name!r} (first at {where}); names must be unique"
            else:
                message = (
                    f"{kind} name {name!r} differs only in case from {first!r} (at {where}); "
                    "Azure names are case-insensitive, so they must differ in more than case"
                )
            raise ScenarioError(message, path=path)
        seen[key] = (name, path)


#: Ranges Azure refuses in a VNet's address space (Azure Virtual Network FAQ, "What
#: address ranges can I use in my VNets?"); a space overlapping one is refused.
AZURE_REFUSED_RANGES = [
    (ipaddress.IPv4Network("224.0.0.0/4"), "multicast"),
    (ipaddress.IPv4Network("255.255.255.255/32"), "broadcast"),
    (ipaddress.IPv4Network("127.0.0.0/8"), "loopback"),
    (ipaddress.IPv4Network("169.254.0.0/16"), "link-local"),
    (ipaddress.IPv4Network("168.63.129.16/32"), "Azure's internal DNS"),
]


def _check_network(scenario: Scenario) -> None:
    exhaustion = scenario.network.exhaustion
    if exhaustion.lower_percent >= exhaustion.upper_percent:
        raise ScenarioError(
            "must be below upper_percent "
            f"({exhaustion.upper_percent:g}) so that the flag has hysteresis",
            path="network.exhaustion.lower_percent",
            value=exhaustion.lower_percent,
        )
    vnets = scenario.network.vnets
    keys = item_keys(vnets)
    where = {
        (i, j): f"network.vnets[{keys[i]}].subnets[{key}]"
        for i, v in enumerate(vnets)
        for j, key in enumerate(item_keys(v.subnets))
    }
    _unique(
        [(v.name, f"network.vnets[{keys[i]}].name") for i, v in enumerate(vnets)],
        "VNet",
        azure=True,
    )
    _unique(
        [
            (s.name, f"{where[i, j]}.name")
            for i, v in enumerate(vnets)
            for j, s in enumerate(v.subnets)
        ],
        "subnet",
        azure=True,
    )
    for i, vnet in enumerate(vnets):
        spaces = [ipaddress.IPv4Network(c) for c in vnet.address_space]
        for a, space in enumerate(spaces):
            for refused, what in AZURE_REFUSED_RANGES:
                if space.overlaps(refused):
                    raise ScenarioError(
                        f"overlaps {refused} ({what}), which Azure does not allow in a VNet's "
                        "address space; use a private range such as 10.0.0.0/8",
                        path=f"network.vnets[{keys[i]}].address_space[{a}]",
                        value=str(space),
                    )
            for b in range(a):
                if space.overlaps(spaces[b]):
                    raise ScenarioError(
                        f"overlaps address space {spaces[b]} of the same VNet",
                        path=f"network.vnets[{keys[i]}].address_space[{a}]",
                        value=str(space),
                    )
        nets: list[ipaddress.IPv4Network] = []
        for j, subnet in enumerate(vnet.subnets):
            path = f"{where[i, j]}.cidr"
            net = ipaddress.IPv4Network(subnet.cidr)
            if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
                raise ScenarioError(
                    f"subnet size must be between /{MIN_PREFIX} and /{MAX_PREFIX}",
                    path=path,
                    value=subnet.cidr,
                )
            if not any(net.subnet_of(space) for space in spaces):
                raise ScenarioError(
                    f"lies outside the address space of VNet {vnet.name!r} "
                    f"({', '.join(map(str, spaces))})",
                    path=path,
                    value=subnet.cidr,
                )
            for k, other in enumerate(nets):
                if net.overlaps(other):
                    raise ScenarioError(
                        f"overlaps subnet {vnet.subnets[k].name!r} ({other})",
                        path=path,
                        value=subnet.cidr,
                    )
            nets.append(net)
            usable = usable_addresses(net.prefixlen)
            if subnet.reserved > usable:
                raise ScenarioError(
                    f"is more than the {usable:,} usable addresses of {subnet.cidr}",
                    path=f"network.vnets[{i}].subnets[{j}].reserved",
                    value=subnet.reserved,
                )


def _pod_subnet_refused(mode: ModeSpec, path: str, value: str) -> ScenarioError:
    takers = [m for m in simulated_modes() if MODES[m].pod_subnet]
    return ScenarioError(
        f"a pod subnet needs cni: {' or '.join(takers)}; {mode.pod_subnet_refusal}",
        path=path,
        value=value,
    )


def _resolve_pool(
    cluster: Cluster, c: Name | int, pool: NodePool, path: str, subnets: dict[str, SubnetRef]
) -> NodePool:
    """``pool`` of ``cluster`` (at ``clusters[c]``) with its defaults, as declared at
    ``path`` (a ``node_pools[]`` entry, or a pool a timeline action adds)."""
    if pool.node_subnet not in subnets:
        raise _unknown("subnet", pool.node_subnet, list(subnets), f"{path}.node_subnet")
    update: dict[str, object] = {}
    cluster_mode = MODES[cluster.cni]
    if (
        pool.pod_ip_allocation is not None
        and pool.pod_ip_allocation not in cluster_mode.pool_allocations
    ):
        raise _allocation_refused(cluster_mode, f"{path}.pod_ip_allocation", pool.pod_ip_allocation)
    if cluster_mode.pool_allocations:
        update["pod_ip_allocation"] = cluster.pool_mode(pool)
    mode = MODES[cluster.pool_mode(pool)]
    if not mode.pod_subnet:
        if pool.pod_subnet is not None:
            raise _pod_subnet_refused(mode, f"{path}.pod_subnet", pool.pod_subnet)
    else:
        pod_subnet = pool.pod_subnet or cluster.pod_subnet
        if pod_subnet is None:
            raise ScenarioError(
                f"cluster uses cni: {mode.name}, so every node pool needs a pod subnet (set it "
                "on the pool or the cluster); one cluster cannot mix CNI types",
                path=f"{path}.pod_subnet",
            )
        where = f"{path}.pod_subnet" if pool.pod_subnet else f"clusters[{c}].pod_subnet"
        if pod_subnet not in subnets:
            raise _unknown("subnet", pod_subnet, list(subnets), where)
        if pod_subnet == pool.node_subnet:
            raise ScenarioError(
                "the pod subnet must be a different subnet from the node subnet",
                path=where,
                value=pod_subnet,
            )
        node_vnet = subnets[pool.node_subnet].vnet
        if subnets[pod_subnet].vnet != node_vnet:
            raise ScenarioError(
                f"pod subnet is in VNet {subnets[pod_subnet].vnet!r} but the cluster's "
                f"nodes are in VNet {node_vnet!r}; a pod subnet must be in the cluster's VNet",
                path=where,
                value=pod_subnet,
            )
        largest = mode.pod_subnet_largest
        if largest is not None and subnets[pod_subnet].network.prefixlen < largest:
            raise ScenarioError(
                f"{mode.title.split(':')[0]} supports pod subnets up to /{largest}",
                path=where,
                value=f"{pod_subnet} ({subnets[pod_subnet].network})",
            )
        update["pod_subnet"] = pod_subnet
    max_pods = pool.max_pods if pool.max_pods is not None else mode.max_pods_default
    low, high = mode.max_pods_range
    if not low <= max_pods <= high:
        raise ScenarioError(
            f"must be between {low} and {high} with cni: {mode.name}",
            path=f"{path}.max_pods",
            value=max_pods,
        )
    if pool.count > 0 and max_pods * pool.count < 30:
        raise ScenarioError(
            f"max pods {max_pods} × {pool.count} nodes leaves room for fewer than 30 pods; "
            "AKS allows max pods below 30 only when the pool has room for at least 30 pods",
            path=f"{path}.max_pods",
            value=max_pods,
        )
    if pool.host_network_addons:
        if mode.pod_addresses is not Space.NODE_SUBNET:
            raise ScenarioError(
                f"only node-subnet modes (traditional Azure CNI) pre-allocate pod addresses "
                f"per node; this pool's cni {mode.name} reserves none to leave out",
                path=f"{path}.host_network_addons",
                value=pool.host_network_addons,
            )
        if pool.host_network_addons >= max_pods:
            raise ScenarioError(
                f"must be below max pods ({max_pods}): the node keeps an address for every "
                "other pod",
                path=f"{path}.host_network_addons",
                value=pool.host_network_addons,
            )
    if pool.system_pods_per_node > max_pods:
        raise ScenarioError(
            f"more system pods per node than max pods ({max_pods})",
            path=f"{path}.system_pods_per_node",
            value=pool.system_pods_per_node,
        )
    if pool.vm_size is not None:
        if pool.allocatable is not None:
            raise ScenarioError("give vm_size or allocatable, not both", path=f"{path}.allocatable")
        if pool.vm_size not in VM_SIZES:
            close = difflib.get_close_matches(pool.vm_size, list(VM_SIZES), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; or give allocatable"
            raise ScenarioError(
                f"not in the built-in table of VM sizes{hint}",
                path=f"{path}.vm_size",
                value=pool.vm_size,
            )
    if pool.autoscaler is not None:
        bounds = pool.autoscaler
        if bounds.min > bounds.max:
            raise ScenarioError(
                f"must not exceed max ({bounds.max})",
                path=f"{path}.autoscaler.min",
                value=bounds.min,
            )
        if not bounds.min <= pool.count <= bounds.max:
            raise ScenarioError(
                f"must lie within the autoscaler's bounds {bounds.min}..{bounds.max}",
                path=f"{path}.count",
                value=pool.count,
            )
    update["max_pods"] = max_pods
    return pool.model_copy(update=update)


def _allocation_refused(mode: ModeSpec, path: str, value: str) -> ScenarioError:
    if mode.pool_allocations:
        choosers = [m for m in simulated_modes() if len(MODES[m].pool_allocations) > 1]
        return ScenarioError(
            f"cni: {mode.name} makes every pool {', '.join(mode.pool_allocations)}; to mix "
            f"allocation modes use cni: {' or '.join(choosers)}",
            path=path,
            value=value,
        )
    takers = [m for m in simulated_modes() if MODES[m].pool_allocations]
    return ScenarioError(
        f"applies to pools of a pod-subnet cluster (cni: {' or '.join(takers)}); cni: "
        f"{mode.name} takes pod IPs from the {mode.pod_addresses.label}",
        path=path,
        value=value,
    )


def check_pod_cidr(
    scenario: Scenario, cluster: Cluster, cidr: str, path: str, subnets: dict[str, SubnetRef]
) -> None:
    """A pod CIDR AKS accepts (reference §9): it holds a /24, and overlaps neither the
    cluster's VNet (its subnets, or its whole address space, as ``network.pod_cidr_overlap``
    says), nor the service CIDR, nor a range AKS reserves."""
    net = ipaddress.IPv4Network(cidr)
    if net.prefixlen > 24:
        raise ScenarioError(
            "must be a /24 or larger: every node takes a /24 of it", path=path, value=cidr
        )
    refs = [subnets[p.node_subnet] for p in cluster.node_pools if p.node_subnet in subnets]
    if refs:
        v = refs[0].vnet_index
        vnet = scenario.network.vnets[v]
        if scenario.network.pod_cidr_overlap == "address_space":
            for space in vnet.address_space:
                if net.overlaps(ipaddress.IPv4Network(space)):
                    raise ScenarioError(
                        f"overlaps the address space {space} of the cluster's VNet "
                        f"{vnet.name!r}; pod IPs must not be VNet addresses",
                        path=path,
                        value=cidr,
                    )
        for subnet in vnet.subnets:
            if net.overlaps(ipaddress.IPv4Network(subnet.cidr)):
                raise ScenarioError(
                    f"overlaps subnet {subnet.name!r} ({subnet.cidr}) of the cluster's VNet; "
                    "pod IPs must not be VNet addresses",
                    path=path,
                    value=cidr,
                )
    service = ipaddress.IPv4Network(cluster.service_cidr)
    if net.overlaps(service):
        raise ScenarioError(f"overlaps the cluster's service CIDR {service}", path=path, value=cidr)
    for reserved in RESERVED_RANGES:
        if net.overlaps(reserved):
            raise ScenarioError(f"overlaps {reserved}, a range AKS reserves", path=path, value=cidr)


def _resolve_pod_cidr(
    scenario: Scenario, cluster: Cluster, c: Name | int, subnets: dict[str, SubnetRef]
) -> str | None:
    mode = MODES[cluster.cni]
    path = f"clusters[{c}].pod_cidr"
    if not mode.pod_cidr:
        if cluster.pod_cidr is not None:
            takers = [m for m in simulated_modes() if MODES[m].pod_cidr]
            raise ScenarioError(
                f"a pod CIDR needs cni: {' or '.join(takers)}; cni: {mode.name} takes pod IPs "
                f"from the {mode.pod_addresses.label}",
                path=path,
                value=cluster.pod_cidr,
            )
        return None
    cidr = cluster.pod_cidr or mode.pod_cidr_default
    assert cidr is not None
    try:
        check_pod_cidr(scenario, cluster, cidr, path, subnets)
    except ScenarioError as exc:
        if cluster.pod_cidr is None:  # the default: say so
            raise ScenarioError(
                f"the default pod CIDR {exc.message}; set clusters[{c}].pod_cidr",
                path=path,
                value=cidr,
            ) from None
        raise
    return cidr


def _resolve_cluster(
    scenario: Scenario, cluster: Cluster, c: Name | int, subnets: dict[str, SubnetRef]
) -> Cluster:
    if not MODES[cluster.cni].pod_subnet and cluster.pod_subnet is not None:
        raise _pod_subnet_refused(
            MODES[cluster.cni], f"clusters[{c}].pod_subnet", cluster.pod_subnet
        )
    keys = item_keys(cluster.node_pools)
    _unique(
        [
            (p.name, f"clusters[{c}].node_pools[{keys[i]}].name")
            for i, p in enumerate(cluster.node_pools)
        ],
        "node pool",
    )
    pools = [
        _resolve_pool(cluster, c, pool, f"clusters[{c}].node_pools[{keys[p]}]", subnets)
        for p, pool in enumerate(cluster.node_pools)
    ]
    first = subnets[pools[0].node_subnet].vnet
    for p, pool in enumerate(pools):
        _check_in_vnet(
            pool, first, "the cluster's first node pool", f"clusters[{c}]", keys[p], subnets
        )
    mode = MODES[cluster.cni]
    nodes = sum(p.count for p in pools)
    if nodes > mode.max_nodes:
        raise ScenarioError(
            f"{nodes} nodes at start; {mode.max_nodes_reason} holds at most {mode.max_nodes}",
            path=f"clusters[{c}].node_pools",
        )
    pod_cidr = _resolve_pod_cidr(scenario, cluster, c, subnets)
    return cluster.model_copy(update={"node_pools": pools, "pod_cidr": pod_cidr})


def grid_series(scenario: Scenario) -> int:
    """Rows per sample time a run can write at most (``subnets.csv`` and ``holders.csv``):
    each used subnet and pod CIDR, each node pool in its node subnet and in its pod
    subnet or pod CIDR, and each used subnet's reserved addresses."""
    used: set[str] = set()
    holders = 0
    for _, cluster, pool in _every_pool(scenario):  # the pools the timeline adds too
        used.add(pool.node_subnet)
        holders += 1
        if pool.pod_subnet is not None:
            used.add(pool.pod_subnet)
            holders += 1
        elif cluster.pod_cidr is not None:
            holders += 1
    reserved = sum(
        1 for v in scenario.network.vnets for s in v.subnets if s.name in used and s.reserved
    )
    pod_cidrs = sum(c.pod_cidr is not None for c in scenario.clusters)
    return len(used) + pod_cidrs + holders + reserved


def _check_output_budget(scenario: Scenario) -> None:
    """Refuse a scenario whose rows on the sample grid exceed the output budget even on
    the coarsest grid (the start and the end); a finer one is coarsened at the end."""
    series = grid_series(scenario)
    if not sample_grid.coarsest_fits(series):
        raise ScenarioError(
            f"give {series:,} series on the sample grid (each used subnet and each node "
            "pool's share of it): even a grid of the start and the end alone would write "
            f"more than the output budget of {sample_grid.ROW_BUDGET:,} rows; split the "
            "scenario",
            path="clusters",
        )


def _check_one_allocation_mode_per_subnet(scenario: Scenario) -> None:
    """A pod subnet serves one allocation mode, across every pool and cluster (static
    block docs: "Only a single mode of operation can be used per subnet")."""
    first: dict[str, tuple[str, str]] = {}
    for path, cluster, pool in _every_pool(scenario):
        if pool.pod_subnet is not None:
            mode = cluster.pool_mode(pool)
            seen = first.setdefault(pool.pod_subnet, (mode, path))
            if seen[0] != mode:
                raise ScenarioError(
                    f"pod subnet {pool.pod_subnet!r} serves {seen[0]} allocation at "
                    f"{seen[1]}; a subnet serves one allocation mode only, so this "
                    f"{mode} pool needs a subnet of its own",
                    path=f"{path}.pod_subnet",
                    value=pool.pod_subnet,
                )


def _every_pool(scenario: Scenario) -> Iterator[tuple[str, Cluster, NodePool]]:
    """Every pool of the run with where it is declared: the clusters' pools, then the
    pools the timeline adds (``add_node_pool``, ``replace_node_pool.with``)."""
    clusters = {c.name: c for c in scenario.clusters}
    for c, cluster in zip(item_keys(scenario.clusters), scenario.clusters, strict=True):
        for p, pool in zip(item_keys(cluster.node_pools), cluster.node_pools, strict=True):
            yield f"clusters[{c}].node_pools[{p}]", cluster, pool
    for path, name, pool in _timeline_pools(scenario):
        if name in clusters:
            yield path, clusters[name], pool


def _timeline_pools(scenario: Scenario) -> Iterator[tuple[str, str, NodePool]]:
    """The pools the timeline adds: where, the cluster named, the pool."""
    for i, where, cluster, pool in scenario.timeline_pools():
        yield f"timeline[{i}].{where}", cluster, pool


#: Each kind-specific key's default, read once (not once per workload).
_KIND_DEFAULTS = {k: Workload.model_fields[k].default for k in sorted(KIND_KEYS)}


def _resolve_workload(
    w: Workload,
    i: Name | int,
    clusters: dict[str, Cluster],
    base: Path,
    later: dict[str, list[NodePool]],
) -> Workload:
    """``later``: per cluster, the pools the timeline adds (a workload may name them: its
    pods wait until the pool has nodes)."""
    path = f"workloads[{i}]"
    if w.cluster not in clusters:
        raise _unknown("cluster", w.cluster, list(clusters), f"{path}.cluster")
    cluster = clusters[w.cluster]
    kind = KINDS[w.kind]
    every = [*cluster.node_pools, *later.get(w.cluster, [])]
    pools = [p.name for p in every]
    # Keys that differ from their default: a resolved scenario spells every key out.
    given = {k for k, default in _KIND_DEFAULTS.items() if getattr(w, k) != default}
    for key in sorted(given - kind.keys):
        kinds = [k.name for k in KINDS.values() if key in k.keys]
        raise ScenarioError(
            f"applies to kind {' or '.join(kinds)}, not {w.kind}",
            path=f"{path}.{key}",
            value=w.lifetime.distribution if key == "lifetime" and w.lifetime else getattr(w, key),
        )
    if w.node_pool is not None and w.node_pool not in pools:
        raise _unknown(
            f"node pool in cluster {w.cluster!r}", w.node_pool, pools, f"{path}.node_pool"
        )
    for j, name in enumerate(w.node_pools or []):
        if name not in pools:
            raise _unknown(
                f"node pool in cluster {w.cluster!r}", name, pools, f"{path}.node_pools[{j}]"
            )
    update = kind.resolve(w, path, base, cluster)
    if w.requests is not None:
        chosen = getattr(w, kind.pools_key)
        names = [chosen] if isinstance(chosen, str) else chosen or pools
        targets = [p for p in every if p.name in names]
        room = [(*pool_allocatable(p), pool_gpus(p)) for p in targets]
        need = (w.requests.cpu, w.requests.memory, w.requests.gpu)
        if not any(
            all(limit is None or amount <= limit for amount, limit in zip(need, r, strict=True))
            for r in room
        ):
            raise ScenarioError(
                "requests more than any node of its pools can offer ("
                + ", ".join(
                    f"{p.name}: {r[0]}m CPU, {r[1]}Mi"
                    + (f", {r[2]} GPUs" if w.requests.gpu and r[2] is not None else "")
                    for p, r in zip(targets, room, strict=True)
                    if r[0] is not None
                )
                + " allocatable)",
                path=f"{path}.requests",
            )
    return w.model_copy(update=update) if update else w


def _check_workloads_and_timeline(
    scenario: Scenario, base: Path
) -> tuple[Scenario, dict[str, list[int]]]:
    """Resolve the workloads and check each timeline action on its own; returns the
    scenario and, per action, the indices of the entries that take it (so that the
    checks over time visit those alone)."""
    clusters = {c.name: c for c in scenario.clusters}
    keys = item_keys(scenario.workloads)
    _unique(
        [(w.name, f"workloads[{keys[i]}].name") for i, w in enumerate(scenario.workloads)],
        "workload",
    )
    later: dict[str, list[NodePool]] = {}
    for _, name, pool in _timeline_pools(scenario):
        later.setdefault(name, []).append(pool)
    resolved = [
        _resolve_workload(w, keys[i], clusters, base, later)
        for i, w in enumerate(scenario.workloads)
    ]
    # Looked up once per action: dictionaries, so that validation grows with the
    # actions, not with actions × workloads or × pools.
    kinds = {w.name: w.kind for w in resolved}
    taking: dict[str, list[int]] = {action: [] for action in TIMELINE_ACTIONS}
    for i, event in enumerate(scenario.timeline):
        path = f"timeline[{i}]"
        if event.at > scenario.duration:
            raise ScenarioError(
                f"is after the end of the run (duration {format_duration(scenario.duration)})",
                path=f"{path}.at",
                value=format_duration(event.at),
            )
        actions = event.actions()
        if len(actions) != 1:
            raise ScenarioError(
                f"needs exactly one action: {', '.join(TIMELINE_ACTIONS)}",
                path=path,
                value=", ".join(actions) or "no action",
            )
        (action,) = actions
        taking[action].append(i)
        act = getattr(event, action)
        if hasattr(act, "cluster"):  # pool actions: their pools are checked in time order
            if act.cluster not in clusters:
                raise _unknown("cluster", act.cluster, list(clusters), f"{path}.{action}.cluster")
        else:
            if act.workload not in kinds:
                raise _unknown("workload", act.workload, list(kinds), f"{path}.{action}.workload")
            if not KINDS[kinds[act.workload]].scalable:
                scalable = " and ".join(f"{k.name}s" for k in KINDS.values() if k.scalable)
                raise ScenarioError(
                    f"workload {act.workload!r} is a {kinds[act.workload]}; only {scalable} "
                    "can be scaled or rolled out",
                    path=f"{path}.{action}.workload",
                    value=act.workload,
                )
        if action == "upgrade_node_pool" and _surge_zero(act.max_surge, act.max_unavailable):
            raise ScenarioError(
                "max_surge and max_unavailable cannot both be 0: no node would be upgraded "
                "(max_surge: nodes replaced by new ones, max_unavailable: nodes upgraded in "
                "place)",
                path=f"{path}.{action}",
            )
        if action == "rollout_workload" and _surge_zero(act.max_surge, act.max_unavailable):
            raise ScenarioError(
                "max_surge and max_unavailable cannot both be 0", path=f"{path}.{action}"
            )
    return scenario.model_copy(update={"workloads": resolved}), taking


#: Timeline actions on a node pool, checked in time order (pools come and go).
POOL_ACTIONS = (
    "scale_node_pool",
    "upgrade_node_pool",
    "add_node_pool",
    "delete_node_pool",
    "replace_node_pool",
    "set_autoscaler",
)


def _check_pool_actions(
    scenario: Scenario, subnets: dict[str, SubnetRef], indices: list[int]
) -> Scenario:
    """Pool actions in time order, against the pools that exist at their time; the pools
    they add resolved (defaults filled in) and checked as ``node_pools[]`` entries are.

    A pool name is used once per cluster over the run (a deleted pool's name is not
    reused), so every record of a pool is one pool's."""
    clusters = {c.name: c for c in scenario.clusters}
    where = dict(zip(clusters, item_keys(scenario.clusters), strict=True))
    live = {c.name: {p.name: p for p in c.node_pools} for c in scenario.clusters}
    gone: dict[tuple[str, str], str] = {}  # (cluster, pool): when and how it went
    timeline = list(scenario.timeline)
    for i in _in_time_order(scenario, indices):
        event = timeline[i]
        (action,) = event.actions()
        act = getattr(event, action)
        path = f"timeline[{i}].{action}"
        cluster, pools = clusters[act.cluster], live[act.cluster]
        when = f"{format_duration(event.at)} (timeline[{i}])"
        old = None
        if action != "add_node_pool":
            old = _live_pool(pools, gone, act.cluster, act.node_pool, f"{path}.node_pool")
        if action == "scale_node_pool" and old is not None and old.autoscaler is not None:
            raise ScenarioError(
                f"node pool {act.node_pool!r} has the cluster autoscaler enabled, and AKS "
                "refuses a manual scale of such a pool: change its autoscaler min and max "
                "instead",
                path=f"{path}.node_pool",
                value=act.node_pool,
            )
        if action == "set_autoscaler" and old is not None:
            if act.min > act.max:
                raise ScenarioError(
                    f"must not exceed max ({act.max})", path=f"{path}.min", value=act.min
                )
            # From now on the pool is autoscaled: no manual scale may name it.
            bounds = Autoscaler(min=act.min, max=act.max)
            pools[act.node_pool] = old.model_copy(update={"autoscaler": bounds})
        if action == "delete_node_pool":
            if len(pools) == 1:
                raise ScenarioError(
                    f"is the last node pool of cluster {act.cluster!r}, and a cluster keeps "
                    "at least one; replace_node_pool swaps it for another",
                    path=f"{path}.node_pool",
                    value=act.node_pool,
                )
            del pools[act.node_pool]
            gone[act.cluster, act.node_pool] = f"deleted at {when}"
        if action in ("add_node_pool", "replace_node_pool"):
            key = "node_pool" if action == "add_node_pool" else "with_"
            at = f"{path}.{key.rstrip('_')}"
            new = getattr(act, key)
            if new.name in pools or (act.cluster, new.name) in gone:
                was = gone.get((act.cluster, new.name), "in use")
                raise ScenarioError(
                    f"cluster {act.cluster!r} has a node pool of that name ({was}); a "
                    "pool name is used once per cluster over the run",
                    path=f"{at}.name",
                    value=new.name,
                )
            resolved = _resolve_pool(cluster, where[act.cluster], new, at, subnets)
            vnet = subnets[cluster.node_pools[0].node_subnet].vnet
            _check_in_vnet(resolved, vnet, f"cluster {act.cluster!r}", at, None, subnets)
            _check_new_pool_fits(scenario, cluster, resolved, at, subnets, old)
            pools[new.name] = resolved
            if old is not None:
                del pools[old.name]
                gone[act.cluster, old.name] = f"replaced at {when}"
            timeline[i] = event.model_copy(update={action: act.model_copy(update={key: resolved})})
    return scenario.model_copy(update={"timeline": timeline})


def _check_in_vnet(
    pool: NodePool,
    vnet: str,
    whose: str,
    path: str,
    key: Name | int | None,
    subnets: dict[str, SubnetRef],
) -> None:
    """A cluster lives in one VNet: ``pool``'s node subnet must be in ``vnet``, the VNet
    of ``whose`` (``path``: the pool's entry, or its list with ``key``)."""
    found = subnets[pool.node_subnet].vnet
    if found != vnet:
        where = path if key is None else f"{path}.node_pools[{key}]"
        raise ScenarioError(
            f"node subnet is in VNet {found!r} but {whose} is in VNet {vnet!r}; a cluster "
            "lives in one VNet",
            path=f"{where}.node_subnet",
            value=pool.node_subnet,
        )


def _live_pool(
    pools: dict[str, NodePool], gone: dict[tuple[str, str], str], cluster: str, name: str, path: str
) -> NodePool:
    """The pool ``name`` of ``cluster`` as it stands at the action's time."""
    if name in pools:
        return pools[name]
    if (cluster, name) in gone:
        raise ScenarioError(
            f"node pool {name!r} of cluster {cluster!r} was {gone[cluster, name]}",
            path=path,
            value=name,
        )
    raise _unknown(f"node pool in cluster {cluster!r}", name, list(pools), path)


def _check_new_pool_fits(
    scenario: Scenario,
    cluster: Cluster,
    pool: NodePool,
    path: str,
    subnets: dict[str, SubnetRef],
    old: NodePool | None,
) -> None:
    """A pool the timeline adds whose nodes, empty, hold more of a subnet than it has
    (with a replacement, beside the pool it replaces, which stays until the new one is
    up) can never be created; the pre-flight check judges the rest when it runs."""
    mode = MODES[cluster.pool_mode(pool)]
    held: dict[tuple[str, int], int] = {}  # (subnet, block): units the old pool holds
    if old is not None:
        load = NodeLoad(old.max_pods or 0, 0, unreserved=old.host_network_addons)
        for take in MODES[cluster.pool_mode(old)].takes(load):
            name = _space_name(old, take.space)
            if name is not None:
                held[name, take.block] = old.count * take.units
    for take in mode.takes(NodeLoad(pool.max_pods or 0, 0, unreserved=pool.host_network_addons)):
        name = _space_name(pool, take.space)
        if name is None or not take.units or not pool.count:
            continue
        ref = subnets[name]
        if take.block > 1:
            edges = scenario.network.static_block_edges
            capacity = block_capacity(ref.network.prefixlen, take.block, edges=edges)
        else:
            capacity = usable_addresses(ref.network.prefixlen) - ref.reserved
        need = pool.count * take.units
        beside = held.get((name, take.block), 0)
        if need + beside <= capacity:
            continue
        unit = "addresses" if take.block == 1 else f"/{block_prefix(take.block)} blocks"
        also = (
            f" beside the {beside} that pool {old.name!r}, which it replaces, holds until "
            "the new pool is up"
            if old is not None and beside
            else ""
        )
        key = "node_subnet" if take.space is Space.NODE_SUBNET else "pod_subnet"
        raise ScenarioError(
            f"{pool.count} {mode.name} node(s) with max pods {pool.max_pods} hold at least "
            f"{pool.count} × {take.units} = {need} {unit} of {take.space.label} {name}"
            f"{also}; it has {capacity} ({ref.network})",
            path=f"{path}.{key}",
            value=name,
        )


def _space_name(pool: NodePool, space: Space) -> str | None:
    """The subnet of ``pool`` that plays ``space``'s part (None: a pod CIDR)."""
    if space is Space.NODE_SUBNET:
        return pool.node_subnet
    return pool.pod_subnet if space is Space.POD_SUBNET else None


def _surge_zero(surge: int | str, unavailable: int | str) -> bool:
    def zero(v: int | str) -> bool:
        return (v == 0) if isinstance(v, int) else float(v.rstrip("%")) == 0

    return zero(surge) and zero(unavailable)


def _in_time_order(scenario: Scenario, indices: list[int]) -> list[int]:
    """Timeline indices in the order their actions happen (ties: as written)."""
    timeline = scenario.timeline
    return sorted(indices, key=lambda i: timeline[i].at)


def _check_node_limit_over_time(scenario: Scenario, pool_actions: list[int]) -> None:
    """A cluster stays within its mode's node limit after every timeline scale, and its
    autoscaled pools' max counts fit within it too."""
    for c, cluster in zip(item_keys(scenario.clusters), scenario.clusters, strict=True):
        mode = MODES[cluster.cni]
        most = sum(p.autoscaler.max if p.autoscaler else p.count for p in cluster.node_pools)
        if most > mode.max_nodes:
            raise ScenarioError(
                f"the pools' counts, autoscaled ones at their max, add up to {most} nodes; "
                f"{mode.max_nodes_reason} holds at most {mode.max_nodes}",
                path=f"clusters[{c}].node_pools",
            )
    counts = {c.name: {p.name: p.count for p in c.node_pools} for c in scenario.clusters}
    # Each cluster's node count, kept up to date as the scales apply (not summed anew).
    totals = {name: sum(pools.values()) for name, pools in counts.items()}
    limits = {c.name: MODES[c.cni] for c in scenario.clusters}
    for i in _in_time_order(scenario, pool_actions):
        event = scenario.timeline[i]
        (action,) = event.actions()
        act = getattr(event, action)
        if action == "delete_node_pool":
            totals[act.cluster] -= counts[act.cluster].pop(act.node_pool)
            continue
        if action == "scale_node_pool":
            name, count, key = act.node_pool, act.count, "count"
        elif action == "add_node_pool":
            name, count, key = act.node_pool.name, act.node_pool.count, "node_pool.count"
        elif action == "replace_node_pool":
            name, count, key = act.with_.name, act.with_.count, "with.count"
        elif action == "set_autoscaler":
            name, count, key = act.node_pool, act.max, "max"
        else:
            continue
        pools = counts[act.cluster]
        totals[act.cluster] += count - pools.get(name, 0)
        pools[name] = count
        mode = limits[act.cluster]
        # A replacement's old pool is still there while the new one comes up.
        if totals[act.cluster] > mode.max_nodes:
            raise ScenarioError(
                f"takes cluster {act.cluster!r} to {totals[act.cluster]} nodes; "
                f"{mode.max_nodes_reason} holds at most {mode.max_nodes}",
                path=f"timeline[{i}].{action}.{key}",
                value=count,
            )
        if action == "replace_node_pool":
            totals[act.cluster] -= pools.pop(act.node_pool)


def _check_pod_cidr_expansions(
    scenario: Scenario, subnets: dict[str, SubnetRef], expansions: list[int]
) -> None:
    """Each ``expand_pod_cidr``, in time order, widens an expandable pod CIDR to a range
    that contains it and is itself an acceptable pod CIDR (reference §9)."""
    clusters = {c.name: c for c in scenario.clusters}
    current = {c.name: c.pod_cidr for c in scenario.clusters}
    for i in _in_time_order(scenario, expansions):
        act = scenario.timeline[i].expand_pod_cidr
        assert act is not None
        path = f"timeline[{i}].expand_pod_cidr"
        cluster = clusters[act.cluster]
        mode = MODES[cluster.cni]
        if not mode.pod_cidr_expandable:
            takers = [m for m in simulated_modes() if MODES[m].pod_cidr_expandable]
            has = "a pod CIDR that cannot change once deployed" if mode.pod_cidr else "no pod CIDR"
            raise ScenarioError(
                f"cluster {act.cluster!r} uses cni: {mode.name}, which has {has}; AKS "
                f"expands the pod CIDR of cni: {' or '.join(takers)} only",
                path=f"{path}.cluster",
                value=act.cluster,
            )
        old = ipaddress.IPv4Network(current[act.cluster] or "")
        new = ipaddress.IPv4Network(act.pod_cidr)
        if not (old.subnet_of(new) and new != old):
            raise ScenarioError(
                f"must be a larger range containing the pod CIDR {old}: AKS neither "
                "shrinks nor moves a pod CIDR",
                path=f"{path}.pod_cidr",
                value=act.pod_cidr,
            )
        check_pod_cidr(scenario, cluster, act.pod_cidr, f"{path}.pod_cidr", subnets)
        current[act.cluster] = act.pod_cidr


def resolve(scenario: Scenario, base: Path | None = None) -> Scenario:
    """Check every cross-field rule and return the scenario with defaults filled in.

    ``base`` is the scenario file's folder: files a scenario names are resolved there."""
    base = base if base is not None else Path(scenario.folder or Path.cwd())
    _check_network(scenario)
    keys = item_keys(scenario.clusters)
    _unique(
        [(c.name, f"clusters[{keys[i]}].name") for i, c in enumerate(scenario.clusters)],
        "cluster",
        azure=True,
    )
    subnets = subnet_index(scenario)
    clusters = [
        _resolve_cluster(scenario, c, keys[i], subnets) for i, c in enumerate(scenario.clusters)
    ]
    resolved = scenario.model_copy(update={"clusters": clusters})
    resolved, taking = _check_workloads_and_timeline(resolved, base)
    pool_actions = sorted(i for action in POOL_ACTIONS for i in taking[action])
    resolved = _check_pool_actions(resolved, subnets, pool_actions)
    _check_output_budget(resolved)  # the pools the timeline adds write series too
    _check_one_allocation_mode_per_subnet(resolved)
    _check_node_limit_over_time(resolved, pool_actions)
    _check_pod_cidr_expansions(resolved, subnets, taking["expand_pod_cidr"])
    resolved._folder = str(base.resolve())  # not part of the document: not serialised
    return resolved
