"""Shared helpers: small scenario documents built in code, so tests need no files."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings


def make_scenario(
    *,
    cni: str = "dynamic",
    nodes: int = 1,
    max_pods: int | None = None,
    node_cidr: str = "10.240.0.0/16",
    pod_cidr: str = "10.241.0.0/16",
    replicas: int = 0,
    system_pods: int = 0,
    duration: str | float = "10m",
    timeline: list[dict[str, Any]] | None = None,
    ipam: dict[str, Any] | None = None,
    timings: dict[str, Any] | None = None,
    grace: str | float | None = None,
) -> dict[str, Any]:
    """A one-cluster, one-pool scenario document."""
    subnets = [{"name": "nodesubnet", "cidr": node_cidr}]
    if cni == "dynamic":
        subnets.append({"name": "podsubnet", "cidr": pod_cidr})
    pool: dict[str, Any] = {
        "name": "user",
        "count": nodes,
        "node_subnet": "nodesubnet",
        "system_pods_per_node": system_pods,
    }
    if max_pods is not None:
        pool["max_pods"] = max_pods
    cluster: dict[str, Any] = {"name": "aks1", "cni": cni, "node_pools": [pool]}
    if cni == "dynamic":
        cluster["pod_subnet"] = "podsubnet"
    if ipam:
        cluster["ipam"] = ipam
    if timings:
        cluster["timings"] = timings
    web: dict[str, Any] = {"name": "web", "cluster": "aks1", "replicas": replicas}
    if grace is not None:
        web["termination_grace"] = grace
    return {
        "name": "test",
        "duration": duration,
        "sample_every": "10s",
        "network": {
            "vnets": [{"name": "vnet1", "address_space": ["10.0.0.0/8"], "subnets": subnets}]
        },
        "clusters": [cluster],
        "workloads": [web],
        "timeline": timeline or [],
    }


@pytest.fixture
def scenario_doc():
    """A factory for scenario documents (a fresh deep copy each call)."""

    def factory(**kwargs: Any) -> dict[str, Any]:
        return copy.deepcopy(make_scenario(**kwargs))

    return factory


# --- property-test profiles -------------------------------------------------------------
# ``ci`` (the default) replays the same examples on every run; ``nightly`` draws fresh ones
# and many more: HYPOTHESIS_PROFILE=nightly python -m pytest tests/test_properties.py

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "nightly",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)
#: How many times the ci example counts a profile runs.
EXAMPLE_SCALE = {"ci": 1, "nightly": 20}.get(PROFILE, 1)


def examples(ci: int) -> int:
    """Examples for a property: ``ci`` under the ci profile, more under nightly."""
    return ci * EXAMPLE_SCALE
