"""pods.csv: the columns derived with array operations follow the per-pod rules.

The worlds mix Deployments, Jobs (whose pods know their Running instant in advance) and
hostNetwork DaemonSets, with pods waiting for addresses, evictions and a run that ends
while pods are still starting."""

import math

import numpy as np
import pytest

import simulator
from simulator.model.world import World
from simulator.results.result import build_result

from conftest import make_scenario


def _scenario(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    replicas = int(rng.integers(0, 60))
    doc = make_scenario(
        nodes=int(rng.integers(2, 5)),
        max_pods=int(rng.choice([30, 50])),
        pod_cidr=f"10.241.0.0/{int(rng.integers(25, 28))}",
        replicas=int(rng.integers(5, 40)),
        duration=f"{int(rng.integers(4, 9))}m",
        timings={"pod_start": f"{int(rng.integers(1, 30))}s"},
        timeline=[
            {"at": "2m", "scale_workload": {"workload": "web", "replicas": replicas}},
            {"at": "3m", "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 1}},
        ],
    )  # fmt: skip
    doc["workloads"] += [
        {
            "name": "batch",
            "kind": "job",
            "cluster": "aks1",
            "rate": f"{int(rng.integers(5, 40))}/min",
            "lifetime": {"distribution": "exponential", "mean": f"{int(rng.integers(5, 90))}s"},
        },
        {"name": "agent", "kind": "daemonset", "cluster": "aks1", "host_network": True},
    ]
    return doc


def _expected(pod, end: float) -> tuple:
    """The per-pod rules: Running only by the end, the wait for an address, the phase."""
    running = pod.running_s if pod.running_s is not None and pod.running_s <= end else None
    wait = None
    if pod.scheduled_s is not None and not pod.host_network:
        stop = pod.ip_s if pod.ip_s is not None else pod.deleted_s
        wait = (stop if stop is not None else end) - pod.scheduled_s
    if pod.deleted_s is not None:
        state = pod.end or "deleted"
    elif pod.node is None:
        state = "pending"
    elif pod.ip is None and not pod.host_network:
        state = "waiting"
    elif running is None:
        state = "starting"
    else:
        state = "running"
    return running, wait, state


def _same(a: float | None, b: float) -> bool:
    return math.isnan(b) if a is None else a == b


@pytest.mark.parametrize("seed", range(8))
def test_derived_pod_columns_follow_the_per_pod_rules(seed):
    scenario = simulator.load_scenario(_scenario(seed))
    world = World(scenario, scenario.seed)
    world.run()
    frame = build_result(world).pods
    pods = [p for c in world.clusters.values() for p in c.pods]
    assert len(frame) == len(pods)
    end = scenario.duration
    for pod, row in zip(pods, frame.itertuples(index=False), strict=True):
        running, wait, state = _expected(pod, end)
        assert row.pod == pod.name
        assert _same(running, row.running_s), pod.name
        assert _same(wait, row.ip_wait_s), pod.name
        assert row.state == state, pod.name
    states = set(frame["state"])
    assert {"running", "succeeded"} <= states  # the worlds do exercise the rules
    assert frame["ip_wait_s"].isna().any() and (frame["ip_wait_s"] > 0).any()
