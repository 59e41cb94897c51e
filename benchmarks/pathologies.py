"""Pathologies: four shapes whose cost must grow with their events, each a pair of
runs whose ratio the script prints beside its target.

1. ``waiting``: 200 dynamic nodes whose pod subnet is too small, leaving 1,269
   pods waiting for an address all run long, for 6 hours against 1 hour. The waiting
   pods change nothing after the first minutes, so 6 h should cost about what 1 h
   costs (target: at most 1.1).
2. ``backlog``: job pods arriving at 100/s against 20/s for 5 minutes on 10 nodes that
   drain 5 pods a second, so that pending pods pile up (target: at most 6; 5 is
   linear in the pods).
3. ``ramp``: a deployment ramped from 0 to 200,000 replicas over 1 s against one that
   starts at ``replicas: 200000`` (target: at most 2).
4. ``validation``: loading and validating a scenario of 100,000 timeline actions
   against one of 10,000 (target: at most 11).

Each figure is wall and CPU seconds of this process; the ratio is of CPU seconds (the
machine may be shared) and the wall ratio is printed beside it. Validation, a fraction
of a second at 10,000 actions, runs seven rounds of the pair and prints the median
round's ratio.

    python benchmarks/pathologies.py [--case waiting|backlog|ramp|validation|all]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from common import Timing, node_pools, timing

import simulator


def network(*subnets: tuple[str, str]) -> dict[str, Any]:
    return {
        "vnets": [
            {
                "name": "vnet",
                "address_space": ["10.0.0.0/8"],
                "subnets": [{"name": n, "cidr": c} for n, c in subnets],
            }
        ]
    }


def waiting_scenario(hours: float) -> dict[str, Any]:
    """1,825 web pods on 200 dynamic nodes with a /22 pod subnet (1,019 addresses):
    1,269 of them wait for an address from the first minute to the end."""
    return {
        "name": "waiting",
        "duration": f"{hours:g}h",
        "sample_every": "5m",
        "network": network(("nodes", "10.0.0.0/20"), ("pods", "10.1.0.0/22")),
        "clusters": [
            {
                "name": "c",
                "cni": "dynamic",
                "pod_subnet": "pods",
                "node_pools": node_pools(200, 30),
            }
        ],
        "workloads": [{"name": "web", "cluster": "c", "replicas": 1825}],
    }


def backlog_scenario(rate: float) -> dict[str, Any]:
    """Job pods of 60 s arriving at ``rate`` a second for 5 minutes on 10 traditional
    nodes of 30 pods: the cluster runs 300 at once and drains 5 a second."""
    return {
        "name": "backlog",
        "seed": 1,
        "duration": "5m",
        "sample_every": "10s",
        "network": network(("nodes", "10.0.0.0/20")),
        "clusters": [{"name": "c", "cni": "traditional", "node_pools": node_pools(10, 30)}],
        "workloads": [
            {
                "name": "batch",
                "kind": "job",
                "cluster": "c",
                "rate": rate,
                "lifetime": {"distribution": "fixed", "value": 60},
            }
        ],
    }


def ramp_scenario(ramp: bool) -> dict[str, Any]:
    """200,000 web pods on 1,000 traditional nodes of 250 pods, ramped from 0 over 1 s
    or there from the start."""
    web: dict[str, Any] = {"name": "web", "cluster": "c"}
    if ramp:
        web["ramp"] = {"from": 0, "to": 200_000, "over": "1s"}
    else:
        web["replicas"] = 200_000
    return {
        "name": "ramp",
        "duration": "10m",
        "sample_every": "1m",
        "network": network(("nodes", "10.0.0.0/14")),
        "clusters": [{"name": "c", "cni": "traditional", "node_pools": node_pools(1000)}],
        "workloads": [web],
    }


def actions_scenario(actions: int) -> dict[str, Any]:
    """``actions`` scale actions, one a second, over ``actions / 10`` deployments, with
    a node pool scale every tenth action."""
    workloads = max(1, actions // 10)
    timeline: list[dict[str, Any]] = []
    for i in range(actions):
        if i % 10 == 9:
            act = {"scale_node_pool": {"cluster": "c", "node_pool": "user1", "count": 3 + i % 4}}
        else:
            act = {"scale_workload": {"workload": f"w{i % workloads}", "replicas": 1 + i % 3}}
        timeline.append({"at": i + 1, **act})
    return {
        "name": "many-actions",
        "duration": actions + 10,
        "network": network(("nodes", "10.0.0.0/16")),
        "clusters": [{"name": "c", "cni": "traditional", "node_pools": node_pools(3)}],
        "workloads": [{"name": f"w{i}", "cluster": "c", "replicas": 1} for i in range(workloads)],
        "timeline": timeline,
    }


def ran(doc: dict[str, Any]) -> Callable[[], str]:
    def work() -> str:
        result = simulator.run(doc)
        pods = result.summary["pods"]
        waiting = int((result.pods["state"] == "waiting").sum())
        pending = int((result.pods["state"] == "pending").sum())
        return f"{pods['created']:,} pods, {waiting:,} waiting and {pending:,} pending at the end"

    return work


def loaded(doc: dict[str, Any]) -> Callable[[], str]:
    def work() -> str:
        scenario = simulator.load_scenario(doc)
        return f"{len(scenario.timeline):,} actions, {len(scenario.workloads):,} workloads"

    return work


def compare(name: str, small: tuple[str, Callable[[], str]], big: tuple[str, Callable[[], str]],
            target: str, repeat: int = 1) -> float:  # fmt: skip
    """Time both, ``repeat`` rounds of the small one then the big one (so that both see
    the same phases of a shared machine's load); print each round and the median."""
    rounds: list[tuple[Timing, Timing]] = []
    for r in range(repeat):
        pair = []
        for label, work in (small, big):
            spent, what = timing(work)
            pair.append(spent)
            if r == 0:
                print(f"{name} {label}: {spent} — {what}", flush=True)
        rounds.append((pair[0], pair[1]))
        if repeat > 1:
            print(f"  round {r + 1}: {pair[0]} and {pair[1]}: {pair[1].cpu / pair[0].cpu:.2f}")
    ratios = sorted(b.cpu / a.cpu for a, b in rounds)
    walls = sorted(b.wall / a.wall for a, b in rounds)
    ratio, wall = ratios[len(ratios) // 2], walls[len(walls) // 2]
    median = " (median of the rounds)" if repeat > 1 else ""
    print(f"{name}: {big[0]} / {small[0]}: {ratio:.2f}{median} (wall {wall:.2f}; target {target})")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cases = ["waiting", "backlog", "ramp", "validation"]
    parser.add_argument("--case", choices=[*cases, "all"], default="all")
    args = parser.parse_args()
    chosen = cases if args.case == "all" else [args.case]
    # Imports and first-call costs, not timed: the first run of a process pays about a
    # second of them, more than a whole waiting case now costs.
    simulator.load_scenario(actions_scenario(10))
    ran(waiting_scenario(0.1))()
    if "waiting" in chosen:
        compare(
            "waiting",
            ("1 h", ran(waiting_scenario(1))),
            ("6 h", ran(waiting_scenario(6))),
            "<= 1.1",
            repeat=5,  # a twentieth of a second each: the median of rounds
        )
    if "backlog" in chosen:
        compare(
            "backlog",
            ("20/s", ran(backlog_scenario(20))),
            ("100/s", ran(backlog_scenario(100))),
            "<= 6, linear 5",
            repeat=5,
        )
    if "ramp" in chosen:
        compare(
            "ramp",
            ("replicas: 200000", ran(ramp_scenario(False))),
            ("ramp to 200,000 over 1 s", ran(ramp_scenario(True))),
            "<= 2",
        )
    if "validation" in chosen:
        compare(
            "validation",
            ("10k actions", loaded(actions_scenario(10_000))),
            ("100k actions", loaded(actions_scenario(100_000))),
            "<= 11",
            repeat=7,
        )


if __name__ == "__main__":
    main()
