"""A run's ``summary.json``: per-subnet figures, the clusters' pod CIDRs, the VNet
addresses consumed, nodes, pods, waits and upgrades, and the flat rows that tables
across many runs are made of."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulator.core.addressing import block_capacity
from simulator.core.modes import NodeLoad, Space, Take, mode_spec
from simulator.model.subnets import POD_CIDR, VNET, pod_cidr_space
from simulator.results.verdict import verdict
from simulator.scenario.checks import REFUSALS

if TYPE_CHECKING:
    from simulator.model.subnets import SubnetState
    from simulator.model.world import World

__all__ = [
    "SWEEP_SUBNET_FIGURES",
    "VNET_MAPPING_LIMIT",
    "flatten",
    "run_row",
    "subnet_rows",
    "summarize",
]

#: Azure's limit of private addresses configured in one VNet; a static /28 block counts
#: as one (concepts-network-ip-address-planning; the AKS API's StaticBlock text).
VNET_MAPPING_LIMIT = 65_536


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    arr = np.asarray(values, dtype=float)
    return {
        "p50": round(float(np.percentile(arr, 50)), 3),
        "p95": round(float(np.percentile(arr, 95)), 3),
        "max": round(float(arr.max()), 3),
    }


def summarize(world: World, pods: pd.DataFrame, changes: dict[str, np.ndarray]) -> dict[str, Any]:
    """The summary of a finished world, from its pod frame and change points."""
    end = world.scenario.duration
    subnets = {}
    for s in world.used_subnets():
        if s.space != VNET:
            continue
        subnets[s.name] = {
            "cidr": s.pool.cidr,
            "vnet": s.vnet,
            "capacity": s.capacity,
            "reserved": len(s.reserved),
            "peak_allocated": s.peak_allocated,
            "peak_assigned": s.peak_assigned,
            "final_allocated": s.allocated,
            "final_assigned": s.assigned,
            "min_free": s.capacity - s.peak_allocated,
            "full_at_s": s.full_at_s,
            "refused_requests": s.full_events,
            "exhausted_count": sum(flag for _, flag in s.exhaustion_flips),
            "exhausted_s": round(s.exhausted_seconds(end), 3),
            "exhausted_at_end": s.exhausted,
            "mean_allocated": round(_time_mean(changes[s.name], 1, end), 3),
            "mean_assigned": round(_time_mean(changes[s.name], 2, end), 3),
            "holders": {holder: s.peak_held.get(holder, 0) for holder in sorted(s.held_by)},
        }
    nodes = [n for c in world.clusters.values() for n in c.nodes]
    states = pods["state"].value_counts()
    waits = pods["ip_wait_s"].dropna().tolist()
    total = world.vnet_total
    summary = {
        "scenario": world.scenario.name,
        "seed": world.seed,
        "duration_s": world.scenario.duration,
        "subnets": subnets,
        "pod_cidrs": _pod_cidrs(world, changes),
        "vnet_addresses": {"peak": total.peak_addresses, "final": total.addresses},
        "vnets": {
            name: {
                "peak_addresses": usage.peak_addresses,
                "final_addresses": usage.addresses,
                "peak_mappings": usage.peak_mappings,
                "final_mappings": usage.mappings,
                "mapping_limit": VNET_MAPPING_LIMIT,
            }
            for name, usage in world.vnets.items()
        },
        "reach": _reach(world),
        "notes": _notes(world),
        "nodes": {
            "created": len(nodes),
            "ready": sum(n.ready_s is not None and not n.failed for n in nodes),
            "failed": sum(n.failed for n in nodes),
            "stuck": sum(
                n.ready_s is not None and n.first_ips_s is None and not n.failed for n in nodes
            ),
            "first_batch_refused": sum(n.first_batch_refused for n in nodes),
            "alive_at_end": sum(n.alive for n in nodes),
        },
        "operations_refused": sum(e.kind in REFUSALS for e in world.recorder.events),
        "pods": {
            "created": len(pods),
            "running_at_end": int(states.get("running", 0)),
            "pending_at_end": int(states.get("pending", 0)),
            "waiting_for_ip_at_end": int(states.get("waiting", 0)),
            "waited_for_ip": sum(w > 0 for w in waits),
            "ip_wait_s": _percentiles(waits),
        },
        "upgrades": _upgrades(world, changes),
    }
    judged = verdict(summary, pods, world.scenario.checks, world.stopped_at_s)
    head = {key: summary.pop(key) for key in ("scenario", "seed", "duration_s")}
    return {**head, **judged, **summary}


def _pod_cidrs(world: World, changes: dict[str, np.ndarray]) -> dict[str, Any]:
    """Each cluster's pod CIDR: its /24s and addresses (not VNet addresses)."""
    end = world.scenario.duration
    out = {}
    for cluster in world.scenario.clusters:
        s = world.subnets.get(pod_cidr_space(cluster.name))
        if s is None:
            continue
        out[s.name] = {
            "cluster": cluster.name,
            "cidr": s.pool.cidr,
            "capacity": s.capacity,
            "blocks": s.pool.block_count,  # type: ignore[union-attr]
            "peak_blocks": s.peak_blocks,
            "final_blocks": s.pool.blocks_held,
            "peak_allocated": s.peak_allocated,
            "final_allocated": s.allocated,
            "peak_assigned": s.peak_assigned,
            "final_assigned": s.assigned,
            "mean_allocated": round(_time_mean(changes[s.name], 1, end), 3),
            "mean_assigned": round(_time_mean(changes[s.name], 2, end), 3),
            "full_at_s": s.full_at_s,
            "refused_requests": s.full_events,
            "expansions": [{"at_s": t, "cidr": c} for t, _, c in s.capacity_changes[1:]],
            "holders": {holder: s.peak_held.get(holder, 0) for holder in sorted(s.held_by)},
        }
    return out


def _space_units(space: SubnetState, take: Take, edges: bool) -> int:
    """What ``space`` holds in the units a node takes of it: /24s of a pod CIDR, /28s of
    a static block pod subnet, addresses otherwise."""
    if take.space is Space.POD_CIDR:
        return space.pool.block_count  # type: ignore[union-attr]
    if take.block > 1:
        return block_capacity(space.pool.network.prefixlen, take.block, edges=edges)
    return space.capacity


def _reach(world: World) -> dict[str, Any]:
    """The most nodes each pool could reach in its address spaces: each space whole to
    itself, every node at the pods per node of the pool's densest node, by its mode's
    per-node rule (the one ``ipsim calc`` applies), at most its mode's nodes per cluster."""
    pools: dict[str, Any] = {}
    for runtime in world.clusters.values():
        for pool in runtime.pools.values():  # deleted pools too
            spec = mode_spec(runtime.spec.pool_mode(pool))
            nodes = runtime.nodes_for[pool.name]
            pods = max((n.peak_assigned for n in nodes), default=0)
            max_pods = pool.max_pods or 0
            limits = [(spec.max_nodes, f"{spec.max_nodes} nodes per cluster")]
            load = NodeLoad(max_pods, min(pods, max_pods), unreserved=pool.host_network_addons)
            for take in spec.takes(load):
                space = runtime.space_for(pool, take.space)
                if space is None or not take.units:
                    continue
                units = _space_units(space, take, world.scenario.network.static_block_edges)
                limits.append((units // take.units, f"{take.space.label} {space.name}"))
            most, limit = min(limits, key=lambda item: item[0])
            pools[f"{runtime.spec.name}/{pool.name}"] = {
                "max_nodes": most,
                "limited_by": limit,
                "pods_per_node": pods,
            }
    return {"max_nodes": sum(p["max_nodes"] for p in pools.values()), "pools": pools}


def _notes(world: World) -> list[str]:
    """Things worth saying about the run that are no errors."""
    notes = []
    for c, cluster in enumerate(world.scenario.clusters):
        for p, pool in enumerate(cluster.node_pools):
            spec = mode_spec(cluster.pool_mode(pool))
            note = spec.max_pods_note(pool.max_pods or 0) if spec.max_pods_note else None
            if note:
                notes.append(f"clusters[{c}].node_pools[{p}] ({cluster.name}/{pool.name}): {note}")
    for name, usage in world.vnets.items():
        if usage.peak_mappings > VNET_MAPPING_LIMIT:
            notes.append(
                f"VNet {name}: {usage.peak_mappings:,} private addresses configured at the "
                f"peak (a static /28 block counts as one), above Azure's {VNET_MAPPING_LIMIT:,}"
            )
    return notes


def _time_mean(series: np.ndarray, column: int, end: float) -> float:
    """Time-weighted mean of a change-point series (rows of time, values) over [0, end]."""
    if end <= 0:
        return float(series[-1, column]) if len(series) else 0.0
    starts = np.minimum(series[:, 0], end)
    stops = np.append(starts[1:], end)
    # fsum: an exact sum, whatever the order (a long run has millions of change points).
    return math.fsum((series[:, column] * (stops - starts)).tolist()) / end


def _peak_between(changes: np.ndarray, start: float, end: float) -> int:
    """Most addresses allocated at any moment in [start, end], from change points."""
    times, allocated = changes[:, 0], changes[:, 1]
    first = int(np.searchsorted(times, start, side="right")) - 1  # the state at ``start``
    stop = int(np.searchsorted(times, end, side="right"))
    at_start = allocated[first] if first >= 0 else 0
    within = allocated[first + 1 : stop]
    return int(max(at_start, within.max() if len(within) else 0))


def _upgrades(world: World, changes: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Each upgrade with the peak addresses allocated in its pool's subnets meanwhile."""
    out = []
    for cluster in world.clusters.values():
        for record in cluster.upgrades:
            pool = cluster.pools[str(record["node_pool"])]
            start = float(record["start_s"])  # type: ignore[arg-type]
            end = record["end_s"] if record["end_s"] is not None else world.end_s
            names = [pool.node_subnet] + ([pool.pod_subnet] if pool.pod_subnet else [])
            peaks = {
                name: _peak_between(changes[name], start, float(end))  # type: ignore[arg-type]
                for name in names
            }
            out.append({**record, "peak_allocated": peaks})
    return out


#: The per-subnet figures a flat row of a run holds, as ``<subnet>.<figure>``.
SWEEP_SUBNET_FIGURES = (
    "capacity",
    "peak_allocated",
    "mean_allocated",
    "peak_assigned",
    "min_free",
    "full_at_s",
    "refused_requests",
    "exhausted_s",
)


def flatten(summary: dict[str, Any]) -> dict[str, Any]:
    """A run's summary as one flat row: ``<subnet>.<figure>``, ``<pod CIDR>.<figure>``,
    ``vnet_addresses.peak`` and ``.final``, ``nodes.<count>``, ``pods.<figure>`` and
    ``operations_refused`` (``sweep.csv``, ``replicas.csv``)."""
    row: dict[str, Any] = {"verdict": summary.get("verdict")}
    for name, sub in summary["subnets"].items():
        for key in SWEEP_SUBNET_FIGURES:
            row[f"{name}.{key}"] = sub[key]
    for name, cidr in summary.get("pod_cidrs", {}).items():
        for key in ("blocks", "peak_blocks", "peak_allocated", "full_at_s", "refused_requests"):
            row[f"{name}.{key}"] = cidr[key]
    row["vnet_addresses.peak"] = summary["vnet_addresses"]["peak"]
    row["vnet_addresses.final"] = summary["vnet_addresses"]["final"]
    for key, value in summary["nodes"].items():
        row[f"nodes.{key}"] = value
    pods = summary["pods"]
    for key in ("created", "running_at_end", "waiting_for_ip_at_end", "waited_for_ip"):
        row[f"pods.{key}"] = pods[key]
    for key, value in pods["ip_wait_s"].items():
        row[f"pods.ip_wait_{key}_s"] = value
    row["operations_refused"] = summary.get("operations_refused", 0)
    return row


def subnet_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """A run's summary as one row per address space (VNet subnets, then pod CIDRs), with
    the run's node and pod figures beside each (``comparison.csv``)."""
    pods = summary["pods"]
    rows = []
    spaces = [(VNET, name, sub) for name, sub in summary["subnets"].items()]
    spaces += [(POD_CIDR, name, sub) for name, sub in summary.get("pod_cidrs", {}).items()]
    for space, name, sub in spaces:
        assigned = sub["mean_assigned"]
        rows.append(
            {
                "subnet": name,
                "space": space,
                "verdict": summary.get("verdict"),
                "capacity": sub["capacity"],
                "peak_allocated": sub["peak_allocated"],
                "mean_allocated": sub["mean_allocated"],
                "peak_assigned": sub["peak_assigned"],
                "mean_assigned": assigned,
                "ips_per_pod": round(sub["mean_allocated"] / assigned, 3) if assigned else None,
                "nodes_failed": summary["nodes"]["failed"],
                "operations_refused": summary.get("operations_refused", 0),
                "pods_waited": pods["waited_for_ip"],
                "p95_wait_s": pods["ip_wait_s"]["p95"],
                "max_wait_s": pods["ip_wait_s"]["max"],
            }
        )
    return rows


def run_row(summary: dict[str, Any]) -> dict[str, Any]:
    """A run's figures that compare modes on one scale (``variants.csv``): VNet addresses
    consumed, pod CIDR /24s, what waited and failed, and the nodes the spaces allow."""
    pods, cidrs = summary["pods"], summary.get("pod_cidrs", {}).values()
    return {
        "vnet_peak_addresses": summary["vnet_addresses"]["peak"],
        "vnet_final_addresses": summary["vnet_addresses"]["final"],
        "vnet_peak_mappings": sum(v["peak_mappings"] for v in summary["vnets"].values()),
        "pod_cidr_peak_blocks": sum(c["peak_blocks"] for c in cidrs),
        "pod_cidr_peak_addresses": sum(c["peak_allocated"] for c in cidrs),
        "nodes_failed": summary["nodes"]["failed"],
        "operations_refused": summary.get("operations_refused", 0),
        "pods_waited": pods["waited_for_ip"],
        "pods_waiting_at_end": pods["waiting_for_ip_at_end"],
        "p95_wait_s": pods["ip_wait_s"]["p95"],
        "max_nodes": summary["reach"]["max_nodes"],
    }
