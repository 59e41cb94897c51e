"""The model's event-driven shortcuts give exactly the outputs of their literal references.

Pending pods are indexed by what they need, so a scheduling pass looks only at what
changed (``literal_schedule`` walks every pending pod in every pass, as the scheduler's
definition reads). A pod waiting for an address is retried only once an address frees
on its node, at its next retry instant (``literal_retry`` retries every waiting pod at
every instant of its grid). Random worlds of every CNI mode, with deployments, jobs, daemonsets,
requests, the autoscaler, rollouts, upgrades and node deletions, must give the same
frames and summary both ways.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import worlds

import simulator
from simulator.core.modes import simulated_modes
from simulator.model.retries import next_retry

from conftest import examples

FRAMES = ("subnets", "nnc", "nodes", "pods", "events", "holders")


def assert_same_outputs(a: simulator.Result, b: simulator.Result) -> None:
    for frame in FRAMES:
        pd.testing.assert_frame_equal(getattr(a, frame), getattr(b, frame), obj=frame)
    assert a.summary == b.summary


@settings(max_examples=examples(30))
@given(worlds())
def test_the_pending_index_binds_as_walking_every_pending_pod(doc):
    assert_same_outputs(simulator.run(doc), simulator.run(doc, literal_schedule=True))


@settings(max_examples=examples(30))
@given(worlds())
def test_waiting_pods_retried_when_an_address_frees_match_the_literal_retry(doc):
    assert_same_outputs(simulator.run(doc), simulator.run(doc, literal_retry=True))


def _churn(mode: str, seed: int) -> dict:
    """A small busy world of one CNI mode: pods waiting for addresses (a small pod subnet,
    or daemon pods beyond max pods), jobs, scaling, rollouts, upgrades and node churn."""
    rng = np.random.default_rng(seed)
    pools = [
        {
            "name": f"p{p}",
            "count": int(rng.integers(3, 5)),
            "max_pods": int(rng.choice([10, 16, 30])),
            "node_subnet": "nodes",
            "system_pods_per_node": int(rng.integers(0, 4)),
        }
        for p in range(int(rng.integers(1, 3)))
    ]
    if mode != "dynamic":
        # A node's own addresses suffice for the pods the scheduler admits: only daemon
        # pods beyond max pods wait (for good, as no pod of theirs ever leaves).
        # (A static block node of max pods 15 holds one /28: 15 addresses for pods.)
        full = 15 if mode == "static-block" else 10
        pools[0].update(max_pods=full, system_pods_per_node=full)
    cluster: dict = {
        "name": "c",
        "cni": mode,
        "node_pools": pools,
        "scheduling": str(rng.choice(["spread", "binpack"])),
        "timings": {
            "node_provision": f"{int(rng.integers(5, 60))}s",
            "sandbox_retry": str(rng.choice(["1s", "3s", "10s", "2.5s"])),
            "ip_release": str(rng.choice(["0s", "5s", "1.5s"])),
        },
    }
    subnets = [{"name": "nodes", "cidr": "10.1.0.0/22"}]
    if mode in ("dynamic", "static-block"):
        small = int(rng.integers(25, 28)) if mode == "dynamic" else 22  # static: room for blocks
        subnets.append({"name": "pods", "cidr": f"10.2.0.0/{small}"})
        cluster["pod_subnet"] = "pods"
    if mode == "dynamic":
        cluster["ipam"] = {
            "pool_monitor": str(rng.choice(["v1", "v2"])),
            "batch_size": int(rng.choice([2, 4, 16])),
        }
    if mode in ("overlay", "kubenet"):
        cluster["pod_cidr"] = "10.244.0.0/20"
    workloads = [
        {"name": "web", "cluster": "c", "replicas": int(rng.integers(5, 60)),
         "termination_grace": f"{int(rng.integers(0, 30))}s"},
        {"name": "job", "kind": "job", "cluster": "c", "rate": f"{int(rng.integers(5, 60))}/min",
         "lifetime": {"distribution": "exponential", "mean": "40s"}},
        {"name": "agent", "kind": "daemonset", "cluster": "c"},
    ]  # fmt: skip
    timeline = []
    for _ in range(int(rng.integers(3, 8))):
        at = f"{int(rng.integers(0, 1100))}s"
        pool = pools[int(rng.integers(0, len(pools)))]["name"]
        kind = int(rng.integers(0, 4))
        if kind == 0:
            act = {"workload": "web", "replicas": int(rng.integers(0, 120))}
            timeline.append({"at": at, "scale_workload": act})
        elif kind == 1:
            timeline.append({"at": at, "rollout_workload": {"workload": "web"}})
        elif kind == 2:
            act = {"cluster": "c", "node_pool": pool, "count": int(rng.integers(0, 5))}
            timeline.append({"at": at, "scale_node_pool": act})
        else:
            act = {"cluster": "c", "node_pool": pool, "max_surge": 1}
            timeline.append({"at": at, "upgrade_node_pool": act})
    return {
        "name": f"{mode}-{seed}",
        "duration": "20m",
        "sample_every": "30s",
        "seed": seed,
        "network": {"vnets": [{"name": "v", "address_space": ["10.0.0.0/8"], "subnets": subnets}]},
        "clusters": [cluster],
        "workloads": workloads,
        "timeline": timeline,
    }


@pytest.mark.parametrize("mode", simulated_modes())
@pytest.mark.parametrize("seed", range(3))
def test_each_mode_gives_the_literal_outputs(mode, seed):
    doc = _churn(mode, seed)
    event = simulator.run(doc)
    waited = event.pods["ip_wait_s"].fillna(0) > 0
    assert waited.any()  # the world does make pods wait for addresses
    assert_same_outputs(event, simulator.run(doc, literal_retry=True, literal_schedule=True))


def _naive(at: float, interval: float, after: float) -> float:
    while at <= after:
        at += interval
    return at


@given(
    st.floats(0.001, 1e6),
    st.sampled_from([0.1, 0.3, 0.5, 1.0, 2.5, 3.0, 10.0, 7.25]),
    st.floats(0.0, 2e4),
)
def test_the_next_retry_instant_is_the_one_repeated_addition_gives(at, interval, ahead):
    last, got = next_retry(at, at + interval, interval, at + ahead)
    assert got == _naive(at + interval, interval, at + ahead)
    assert last + interval == got and last <= at + ahead


SHIPPED = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.mark.parametrize(
    "name",
    [
        "blue-green-migration",  # pools added and replaced, an in-place upgrade
        "autoscaler-all-or-nothing",  # refused scale sets, back-off, new bounds
        "upgrade-surge-tight-subnet",  # surge nodes created, drained and deleted
    ],
)
def test_pool_actions_and_upgrades_give_the_literal_outputs(name):
    doc = simulator.load_scenario(SHIPPED / f"{name}.yaml")
    literal = simulator.run(doc, literal_retry=True, literal_schedule=True)
    assert_same_outputs(simulator.run(doc), literal)
