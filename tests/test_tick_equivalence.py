"""The event-driven pool monitor gives exactly the history of a literal 1 s ticker."""

import pandas as pd
import pytest

import simulator

from conftest import make_scenario


def _scale(at, replicas):
    return {"at": at, "scale_workload": {"workload": "web", "replicas": replicas}}


def _nodes(at, count):
    return {"at": at, "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": count}}


CASES = {
    "burst-and-drain": make_scenario(
        nodes=2, replicas=5, timeline=[_scale("30s", 180), _scale("3m", 3), _scale("5m", 90)]
    ),
    "node-churn": make_scenario(
        nodes=3,
        replicas=50,
        system_pods=2,
        timeline=[_nodes("1m", 6), _scale("5m", 300), _nodes("7m", 2), _scale("8m", 40)],
        timings={"node_provision": "70s"},
    ),
    "scarce-subnet": make_scenario(
        nodes=2,
        max_pods=40,
        pod_cidr="10.241.0.0/26",
        replicas=30,
        timeline=[_nodes("1m", 4), _scale("2m", 90), _scale("6m", 10)],
        timings={"node_provision": "45s"},
    ),
    "odd-timings": make_scenario(
        nodes=2,
        replicas=20,
        ipam={"batch_size": 10, "request_threshold_percent": 30, "release_threshold_percent": 170},
        timeline=[_scale("17.5s", 77), _scale("150.25s", 12), _scale("4m", 60)],
        timings={
            "nnc_fulfilment": "2.5s",
            "ip_programming": "0.75s",
            "sandbox_retry": "3s",
            "ip_release": "1.5s",
            "pod_start": "0.5s",
        },
    ),
}


def _with_jobs_rollout_and_daemonset() -> dict:
    doc = make_scenario(
        nodes=3,
        replicas=40,
        pod_cidr="10.241.0.0/25",
        timeline=[
            {"at": "2m", "rollout_workload": {"workload": "web", "max_surge": "50%"}},
            _nodes("4m", 5),
            _scale("6m", 10),
        ],
        timings={"node_provision": "50s"},
    )
    doc["workloads"] += [
        {
            "name": "etl",
            "kind": "job",
            "cluster": "aks1",
            "rate": "20/min",
            "lifetime": {"distribution": "exponential", "mean": "90s"},
        },
        {"name": "agent", "kind": "daemonset", "cluster": "aks1"},
    ]
    return doc


CASES["jobs-rollout-daemonset"] = _with_jobs_rollout_and_daemonset()


@pytest.mark.parametrize("name", sorted(CASES))
def test_event_driven_ticks_equal_literal_ticks(name):
    event = simulator.run(CASES[name])
    literal = simulator.run(CASES[name], literal_tick=True)
    assert len(event.nnc) > 10
    pd.testing.assert_frame_equal(event.nnc, literal.nnc)
    pd.testing.assert_frame_equal(event.subnets, literal.subnets)
    pd.testing.assert_frame_equal(event.pods, literal.pods)
    assert event.summary == literal.summary
