"""Shared helpers of the benchmark scripts: scenario builders, timing, peak memory."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import simpy

import simulator

__all__ = [
    "ModelRun",
    "Timing",
    "bare_replay",
    "cpu_seconds",
    "model_run",
    "node_pools",
    "peak_rss_mib",
    "replay_times",
    "scale_scenario",
    "timed",
    "timing",
]


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = work()
    return time.perf_counter() - start, value


def cpu_seconds() -> float:
    """CPU seconds (user and system) of this process and of its finished children.

    A child's time counts once it has exited and been waited for: close worker pools
    inside the measured work."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass(frozen=True)
class Timing:
    """Wall and CPU seconds of one piece of work. On a shared machine the wall time
    also counts the waits for a core; the CPU time does not."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:.2f} s (CPU {self.cpu:.2f} s)"


def timing(work: Callable[[], Any]) -> tuple[Timing, Any]:
    """Run ``work``; return its wall and CPU seconds (children included) and its value."""
    cpu, start = cpu_seconds(), time.perf_counter()
    value = work()
    return Timing(time.perf_counter() - start, cpu_seconds() - cpu), value


def scale_scenario(
    cni: str = "dynamic",
    *,
    nodes: int = 5000,
    lifecycles: float = 1_000_000,
    concurrent: float = 60_000,
    hours: float = 24,
    monitor: str = "v1",
) -> dict[str, Any]:
    """Poisson pod arrivals with exponential lifetimes on one big node pool.

    ``lifecycles`` pods arrive over ``hours``; the mean lifetime makes ``concurrent`` pods
    run at once in steady state (Little's law: concurrent = rate × mean lifetime)."""
    seconds = hours * 3600
    rate = lifecycles / seconds
    mean_life = concurrent / rate
    # Traditional takes 1 + max pods node-subnet addresses a node; the others take 1.
    subnets = [{"name": "nodes", "cidr": "10.0.0.0/10" if cni == "traditional" else "10.0.0.0/18"}]
    # Static block: 12 /28s a node (max pods 191 = 16 x 12 - 1) fit 5,000 nodes in a /12.
    max_pods = 191 if cni == "static-block" else 250
    cluster: dict[str, Any] = {"name": "big", "cni": cni, "node_pools": node_pools(nodes, max_pods)}
    if cni in ("dynamic", "static-block"):
        subnets.append({"name": "pods", "cidr": "10.64.0.0/12"})
        cluster["pod_subnet"] = "pods"
    if cni == "dynamic":
        cluster["ipam"] = {"pool_monitor": monitor}
    if cni in ("overlay", "kubenet"):
        cluster["pod_cidr"] = "100.64.0.0/11"  # 8,192 /24s
    return {
        "name": f"scale-{cni}",
        "seed": 1,
        "duration": seconds,
        "sample_every": 300,
        "network": {
            "vnets": [{"name": "vnet", "address_space": ["10.0.0.0/8"], "subnets": subnets}]
        },
        "clusters": [cluster],
        "workloads": [
            {
                "name": "batch",
                "kind": "job",
                "cluster": "big",
                "rate": rate,
                "lifetime": {"distribution": "exponential", "mean": mean_life},
            }
        ],
    }


def node_pools(nodes: int, max_pods: int = 250) -> list[dict[str, Any]]:
    """Pools of at most 1,000 nodes (the AKS limit per pool) adding up to ``nodes``."""
    pools = []
    for i in range(0, nodes, 1000):
        pools.append(
            {
                "name": f"user{i // 1000 + 1}",
                "count": min(1000, nodes - i),
                "max_pods": max_pods,
                "node_subnet": "nodes",
            }
        )
    return pools


def bare_replay(arrivals: list[float], lifetimes: list[float], end: float) -> int:
    """The engine alone: each pod arrives, waits its lifetime and leaves (no model).

    Returns the number of SimPy events processed."""
    env = simpy.Environment()
    events = 0

    def pod(life: float):
        yield env.timeout(life)

    def source():
        nonlocal events
        now = 0.0
        for at, life in zip(arrivals, lifetimes, strict=True):
            yield env.timeout(at - now)
            now = at
            env.process(pod(life))
            events += 3  # the arrival, the pod's start and its departure

    env.process(source())
    env.run(until=end)
    return events


def replay_times(result: simulator.Result) -> tuple[list[float], list[float], float]:
    """The job pods' arrival times, how long each stayed (until its address was free, or
    the end of the run) and the run's end: what the floor replays."""
    jobs = result.pods[result.pods["workload"] == "batch"]
    end = float(result.summary["duration_s"])
    arrivals = jobs["created_s"].tolist()
    stays = (jobs["deleted_s"].fillna(end) - jobs["created_s"]).tolist()
    return arrivals, stays, end


@dataclass
class ModelRun:
    """One model run: its result, SimPy events, and the seconds spent simulating
    (loading the scenario included: milliseconds) and building the result's frames and
    summary."""

    result: simulator.Result
    events: int
    simulate_s: float
    results_s: float

    @property
    def total_s(self) -> float:
        return self.simulate_s + self.results_s


def model_run(doc: dict[str, Any]) -> ModelRun:
    """Load, simulate and build the result of a scenario document, timing the parts."""
    from simulator.model.world import World
    from simulator.results.result import build_result

    start = time.perf_counter()
    scenario = simulator.load_scenario(doc)
    world = World(scenario, scenario.seed)
    world.run()
    simulated = time.perf_counter()
    result = build_result(world)
    built = time.perf_counter()
    # SimPy numbers every scheduled event; the counter is the events processed (all ran).
    return ModelRun(result, next(world.env._eid), simulated - start, built - simulated)
