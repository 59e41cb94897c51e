"""The contract every CNI mode keeps, over every mode the table of modes registers.

A mode registered in ``simulator.core.modes.MODES`` with a strategy is run here on a
set of worlds (scale up, scale down, churn, node deletion, a full subnet, an upgrade)
with the invariant checker at every change point: no address held twice, allocated at
most usable, a running pod always with an address (hostNetwork pods aside), and every
address back once the nodes are gone. Its ``calc`` rule must match what the simulation
settles at. A new mode is covered by registering it.
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator.core.capacity import calculate
from simulator.core.modes import MODES, Space, simulated_modes
from simulator.model.cni import CniMode, strategy_for
from simulator.model.invariants import check, check_drained
from simulator.model.subnets import pod_cidr_space
from simulator.model.world import World
from simulator.scenario.loader import load_scenario

MODES_RUN = simulated_modes()

NODE_SUBNET, POD_SUBNET = "nodesubnet", "podsubnet"
#: The name of each kind of space in a contract world.
SPACE_NAMES = {
    Space.NODE_SUBNET: NODE_SUBNET,
    Space.POD_SUBNET: POD_SUBNET,
    Space.POD_CIDR: pod_cidr_space("aks1"),
}


def world_doc(
    mode: str,
    *,
    nodes: int = 2,
    replicas: int = 20,
    node_prefix: int = 22,
    pod_prefix: int = 22,
    pod_cidr_prefix: int = 20,
    room_for_one: bool = False,
    max_pods: int = 30,
    timeline: list[dict[str, Any]] | None = None,
    jobs: bool = False,
    duration: str = "20m",
    preflight: bool = True,
) -> dict[str, Any]:
    """A one-cluster world for ``mode``: a node subnet, a pod subnet or a pod CIDR where
    the mode takes one, a Deployment, a hostNetwork DaemonSet and, with ``jobs``, a
    stream of Jobs. ``room_for_one``: the space that limits the mode holds one idle
    node's addresses (by the mode's ``calc`` rule) and no more."""
    spec = MODES[mode]
    if room_for_one:
        prefix = {n.subnet: n.prefix for n in calculate(mode, 1, max_pods, pods_per_node=0)}[
            spec.pod_addresses.value
        ]
        assert prefix is not None
        if spec.pod_addresses is Space.NODE_SUBNET:
            node_prefix = prefix
        elif spec.pod_addresses is Space.POD_SUBNET:
            pod_prefix = prefix
        else:
            pod_cidr_prefix = prefix
    subnets = [{"name": NODE_SUBNET, "cidr": f"10.1.0.0/{node_prefix}"}]
    cluster: dict[str, Any] = {
        "name": "aks1",
        "cni": mode,
        "node_pools": [
            {
                "name": "user",
                "count": nodes,
                "max_pods": max_pods,
                "node_subnet": NODE_SUBNET,
                "system_pods_per_node": 1,
            }
        ],
        "timings": {"node_provision": "30s"},
    }
    if spec.pod_subnet:
        subnets.append({"name": POD_SUBNET, "cidr": f"10.2.0.0/{pod_prefix}"})
        cluster["pod_subnet"] = POD_SUBNET
    if spec.pod_cidr:
        cluster["pod_cidr"] = f"10.244.0.0/{pod_cidr_prefix}"
    workloads: list[dict[str, Any]] = [
        {"name": "web", "cluster": "aks1", "replicas": replicas},
        {"name": "agent", "kind": "daemonset", "cluster": "aks1", "host_network": True},
    ]
    if jobs:
        workloads.append(
            {
                "name": "batch",
                "kind": "job",
                "cluster": "aks1",
                "rate": "20/min",
                "lifetime": {"distribution": "exponential", "mean": "60s"},
                "stop": "15m",
            }
        )
    return {
        "name": f"contract-{mode}",
        "duration": duration,
        "sample_every": "30s",
        "preflight_checks": preflight,
        "network": {
            "vnets": [{"name": "vnet1", "address_space": ["10.0.0.0/8"], "subnets": subnets}]
        },
        "clusters": [cluster],
        "workloads": workloads,
        "timeline": timeline or [],
    }


def _scale(at: str, count: int) -> dict[str, Any]:
    return {"at": at, "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": count}}


def _replicas(at: str, count: int) -> dict[str, Any]:
    return {"at": at, "scale_workload": {"workload": "web", "replicas": count}}


#: The end of every contract world: the workload goes, then every node.
_DRAIN = [_replicas("17m", 0), _scale("18m", 0)]

WORLDS: dict[str, dict[str, Any]] = {
    "scale-up": {"timeline": [_scale("1m", 5), _replicas("2m", 100), *_DRAIN]},
    "scale-down": {
        "nodes": 5,
        "replicas": 100,
        "timeline": [_replicas("1m", 30), _scale("3m", 2), *_DRAIN],
    },
    "churn": {
        "jobs": True,
        "timeline": [_replicas("2m", 45), _replicas("6m", 5), _replicas("9m", 50), *_DRAIN],
    },
    "node-deletion": {"nodes": 4, "replicas": 80, "timeline": [_scale("2m", 1), *_DRAIN]},
    # Room for one node's addresses at most; the pre-flight check off, so nodes fail.
    "full-subnet": {
        "nodes": 1,
        "node_prefix": 26,
        "room_for_one": True,
        "preflight": False,
        "timeline": [_scale("1m", 6), _replicas("2m", 150), *_DRAIN],
    },
    "upgrade": {
        "nodes": 3,
        "replicas": 60,
        "timeline": [
            {"at": "1m", "upgrade_node_pool": {"cluster": "aks1", "node_pool": "user"}},
            *_DRAIN,
        ],
    },
}


def _checked_run(doc: dict[str, Any]) -> World:
    world = World(load_scenario(doc), 0)
    calls = []

    def checker(w: World) -> None:
        check(w)
        calls.append(w.env.now)

    world.run(check=checker)
    assert calls, "the checker never ran"
    return world


@pytest.mark.parametrize("world", list(WORLDS))
@pytest.mark.parametrize("mode", MODES_RUN)
def test_every_mode_keeps_the_invariants_and_gives_every_address_back(mode, world):
    w = _checked_run(world_doc(mode, **WORLDS[world]))
    check_drained(w)
    pods = [p for c in w.clusters.values() for p in c.pods]
    assert any(p.ip is not None for p in pods), "no pod ever got an address"
    if world == "full-subnet":
        # The mode's limiting space ran out: nodes failed or pods waited for addresses.
        assert w.subnets[SPACE_NAMES[MODES[mode].pod_addresses]].full_events > 0


@pytest.mark.parametrize("mode", MODES_RUN)
def test_the_calc_rule_is_what_the_simulation_settles_at(mode):
    """N nodes running P pods each hold what ``ipsim calc`` says, in every space."""
    nodes, pods, max_pods = 4, 12, 30
    doc = world_doc(mode, nodes=nodes, replicas=nodes * pods, max_pods=max_pods)
    doc["clusters"][0]["node_pools"][0]["system_pods_per_node"] = 0
    doc["workloads"] = doc["workloads"][:1]  # the Deployment alone: P pods per node
    w = _checked_run(doc)
    needs = {n.subnet: n.addresses for n in calculate(mode, nodes, max_pods, pods_per_node=pods)}
    got = {
        space.value: w.subnets[name].allocated
        for space, name in SPACE_NAMES.items()
        if name in w.subnets
    }
    assert got == needs


@pytest.mark.parametrize("mode", MODES_RUN)
def test_the_table_names_the_strategy_that_simulates_the_mode(mode):
    strategy = strategy_for(mode)
    assert issubclass(strategy, CniMode)
    assert strategy.name == mode


def test_a_mode_without_a_strategy_is_refused_by_scenarios_and_variants():
    formulas_only = [name for name, spec in MODES.items() if spec.strategy is None]
    for name in formulas_only:
        with pytest.raises(KeyError, match="not simulated"):
            strategy_for(name)
    doc = world_doc(MODES_RUN[0])
    for name in formulas_only:
        doc["clusters"][0]["cni"] = name
        with pytest.raises(Exception, match="cni"):
            load_scenario(doc)
