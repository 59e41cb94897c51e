"""Cross-field rules of a scenario, checked the way Azure and AKS would refuse them.

Reference: reference/azure-cni.md §1 (subnets), §3 (max pods), §4 (pod subnet). Each
failure raises :class:`ScenarioError` naming the dotted field path, the value and the rule.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from simulator.core.addressing import MAX_PREFIX, MIN_PREFIX, usable_addresses
from simulator.core.modes import MODES, ModeSpec, simulated_modes
from simulator.core.units import format_duration
from simulator.core.vm_sizes import VM_SIZES, pool_allocatable, pool_gpus
from simulator.errors import ScenarioError
from simulator.scenario.models import TIMELINE_ACTIONS, Cluster, NodePool, Scenario
from simulator.scenario.workloads import KIND_KEYS, KINDS, Workload

__all__ = ["SubnetRef", "resolve", "subnet_index"]

#: Rows of subnets.csv per subnet at most (duration / sample_every).
MAX_SAMPLES = 1_000_000
#: AKS limit on nodes per cluster.
MAX_NODES_PER_CLUSTER = 5000


@dataclass(frozen=True)
class SubnetRef:
    """Where a subnet is declared."""

    vnet: str
    vnet_index: int
    index: int
    network: ipaddress.IPv4Network


def subnet_index(scenario: Scenario) -> dict[str, SubnetRef]:
    """Every subnet by name (names are unique across the scenario)."""
    out: dict[str, SubnetRef] = {}
    for v, vnet in enumerate(scenario.network.vnets):
        for s, subnet in enumerate(vnet.subnets):
            out[subnet.name] = SubnetRef(vnet.name, v, s, ipaddress.IPv4Network(subnet.cidr))
    return out


def _choices(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(repr(n) for n in names) if names else "none"


def _unknown(kind: str, name: str, names: list[str], path: str) -> ScenarioError:
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {_choices(names)}"
    return ScenarioError(f"no {kind} named {name!r}{hint}", path=path)


def _unique(items: list[tuple[str, str]], kind: str) -> None:
    seen: dict[str, str] = {}
    for name, path in items:
        if name in seen:
            raise ScenarioError(
                f"duplicate {kind} name {name!r} (first at {seen[name]}); names must be unique",
                path=path,
            )
        seen[name] = path


def _check_network(scenario: Scenario) -> None:
    exhaustion = scenario.network.exhaustion
    if exhaustion.lower_percent >= exhaustion.upper_percent:
        raise ScenarioError(
            "must be below upper_percent "
            f"({exhaustion.upper_percent:g}) so that the flag has hysteresis",
            path="network.exhaustion.lower_percent",
            value=exhaustion.lower_percent,
        )
    _unique(
        [(v.name, f"network.vnets[{i}].name") for i, v in enumerate(scenario.network.vnets)], "VNet"
    )
    _unique(
        [
            (s.name, f"network.vnets[{i}].subnets[{j}].name")
            for i, v in enumerate(scenario.network.vnets)
            for j, s in enumerate(v.subnets)
        ],
        "subnet",
    )
    for i, vnet in enumerate(scenario.network.vnets):
        spaces = [ipaddress.IPv4Network(c) for c in vnet.address_space]
        for a, space in enumerate(spaces):
            for b in range(a):
                if space.overlaps(spaces[b]):
                    raise ScenarioError(
                        f"overlaps address space {spaces[b]} of the same VNet",
                        path=f"network.vnets[{i}].address_space[{a}]",
                        value=str(space),
                    )
        nets: list[ipaddress.IPv4Network] = []
        for j, subnet in enumerate(vnet.subnets):
            path = f"network.vnets[{i}].subnets[{j}].cidr"
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
    cluster: Cluster, c: int, pool: NodePool, p: int, subnets: dict[str, SubnetRef]
) -> NodePool:
    path = f"clusters[{c}].node_pools[{p}]"
    if pool.node_subnet not in subnets:
        raise _unknown("subnet", pool.node_subnet, list(subnets), f"{path}.node_subnet")
    update: dict[str, object] = {}
    mode = MODES[cluster.cni]
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


def _resolve_cluster(cluster: Cluster, c: int, subnets: dict[str, SubnetRef]) -> Cluster:
    if not MODES[cluster.cni].pod_subnet and cluster.pod_subnet is not None:
        raise _pod_subnet_refused(
            MODES[cluster.cni], f"clusters[{c}].pod_subnet", cluster.pod_subnet
        )
    _unique(
        [(p.name, f"clusters[{c}].node_pools[{i}].name") for i, p in enumerate(cluster.node_pools)],
        "node pool",
    )
    pools = [
        _resolve_pool(cluster, c, pool, p, subnets) for p, pool in enumerate(cluster.node_pools)
    ]
    vnets = {subnets[p.node_subnet].vnet for p in pools}
    if len(vnets) > 1:
        first = subnets[pools[0].node_subnet].vnet
        for p, pool in enumerate(pools):
            if subnets[pool.node_subnet].vnet != first:
                raise ScenarioError(
                    f"node subnet is in VNet {subnets[pool.node_subnet].vnet!r} but the "
                    f"cluster's first node pool is in VNet {first!r}; a cluster lives in one VNet",
                    path=f"clusters[{c}].node_pools[{p}].node_subnet",
                    value=pool.node_subnet,
                )
    nodes = sum(p.count for p in pools)
    if nodes > MAX_NODES_PER_CLUSTER:
        raise ScenarioError(
            f"{nodes} nodes at start; an AKS cluster holds at most {MAX_NODES_PER_CLUSTER}",
            path=f"clusters[{c}].node_pools",
        )
    return cluster.model_copy(update={"node_pools": pools})


def _resolve_workload(w: Workload, i: int, clusters: dict[str, Cluster], base: Path) -> Workload:
    path = f"workloads[{i}]"
    if w.cluster not in clusters:
        raise _unknown("cluster", w.cluster, list(clusters), f"{path}.cluster")
    cluster = clusters[w.cluster]
    kind = KINDS[w.kind]
    pools = [p.name for p in cluster.node_pools]
    # Keys that differ from their default: a resolved scenario spells every key out.
    given = {k for k in KIND_KEYS if getattr(w, k) != Workload.model_fields[k].default}
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
        targets = [p for p in cluster.node_pools if p.name in names]
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


def _check_workloads_and_timeline(scenario: Scenario, base: Path) -> Scenario:
    clusters = {c.name: c for c in scenario.clusters}
    _unique(
        [(w.name, f"workloads[{i}].name") for i, w in enumerate(scenario.workloads)], "workload"
    )
    resolved = [_resolve_workload(w, i, clusters, base) for i, w in enumerate(scenario.workloads)]
    kinds = {w.name: w.kind for w in resolved}
    workloads = list(kinds)
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
        act = getattr(event, action)
        if action in ("scale_node_pool", "upgrade_node_pool"):
            if act.cluster not in clusters:
                raise _unknown("cluster", act.cluster, list(clusters), f"{path}.{action}.cluster")
            pools = [p.name for p in clusters[act.cluster].node_pools]
            if act.node_pool not in pools:
                raise _unknown(
                    f"node pool in cluster {act.cluster!r}",
                    act.node_pool,
                    pools,
                    f"{path}.{action}.node_pool",
                )
        else:
            if act.workload not in workloads:
                raise _unknown("workload", act.workload, workloads, f"{path}.{action}.workload")
            if not KINDS[kinds[act.workload]].scalable:
                scalable = " and ".join(f"{k.name}s" for k in KINDS.values() if k.scalable)
                raise ScenarioError(
                    f"workload {act.workload!r} is a {kinds[act.workload]}; only {scalable} "
                    "can be scaled or rolled out",
                    path=f"{path}.{action}.workload",
                    value=act.workload,
                )
        if action == "upgrade_node_pool" and _surge_zero(act.max_surge, 0):
            raise ScenarioError(
                "must be at least 1 node or a percentage above 0%",
                path=f"{path}.{action}.max_surge",
                value=act.max_surge,
            )
        if action == "rollout_workload" and _surge_zero(act.max_surge, act.max_unavailable):
            raise ScenarioError(
                "max_surge and max_unavailable cannot both be 0", path=f"{path}.{action}"
            )
    return scenario.model_copy(update={"workloads": resolved})


def _surge_zero(surge: int | str, unavailable: int | str) -> bool:
    def zero(v: int | str) -> bool:
        return (v == 0) if isinstance(v, int) else float(v.rstrip("%")) == 0

    return zero(surge) and zero(unavailable)


def _check_node_limit_over_time(scenario: Scenario) -> None:
    """A cluster stays within the AKS node limit after every timeline scale."""
    counts = {c.name: {p.name: p.count for p in c.node_pools} for c in scenario.clusters}
    order = sorted(range(len(scenario.timeline)), key=lambda i: scenario.timeline[i].at)
    for i in order:
        act = scenario.timeline[i].scale_node_pool
        if act is None:
            continue
        pools = counts[act.cluster]
        pools[act.node_pool] = act.count
        if sum(pools.values()) > MAX_NODES_PER_CLUSTER:
            raise ScenarioError(
                f"takes cluster {act.cluster!r} to {sum(pools.values())} nodes; an AKS "
                f"cluster holds at most {MAX_NODES_PER_CLUSTER}",
                path=f"timeline[{i}].scale_node_pool.count",
                value=act.count,
            )


def resolve(scenario: Scenario, base: Path | None = None) -> Scenario:
    """Check every cross-field rule and return the scenario with defaults filled in.

    ``base`` is the scenario file's folder: files a scenario names are resolved there."""
    base = base if base is not None else Path(scenario.folder or Path.cwd())
    samples = scenario.duration / scenario.sample_every
    if samples > MAX_SAMPLES:
        raise ScenarioError(
            f"gives {samples:,.0f} samples over the run's {format_duration(scenario.duration)}; "
            f"at most {MAX_SAMPLES:,}: sample less often",
            path="sample_every",
            value=format_duration(scenario.sample_every),
        )
    _check_network(scenario)
    _unique([(c.name, f"clusters[{i}].name") for i, c in enumerate(scenario.clusters)], "cluster")
    subnets = subnet_index(scenario)
    clusters = [_resolve_cluster(c, i, subnets) for i, c in enumerate(scenario.clusters)]
    resolved = scenario.model_copy(update={"clusters": clusters})
    resolved = _check_workloads_and_timeline(resolved, base)
    _check_node_limit_over_time(resolved)
    resolved._folder = str(base.resolve())  # not part of the document: not serialised
    return resolved
