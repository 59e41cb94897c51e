"""Random small scenarios never lose or double-hold an address (fixed seeds, so repeatable).

A broader property-based search belongs to the reliability suite; this one guards the
foundation: whatever the mix of modes, sizes and timeline, every address comes back once
every node is gone, and no sample ever shows more in use than held or held than usable.
"""

import numpy as np
import pytest

import simulator


def _random_scenario(rng: np.random.Generator) -> dict:
    prefixes = rng.integers(24, 29, size=3)
    subnets = [{"name": f"s{i}", "cidr": f"10.{i}.0.0/{int(p)}"} for i, p in enumerate(prefixes)]
    clusters, workloads, timeline = [], [], []
    for c in range(int(rng.integers(1, 3))):
        cni = str(rng.choice(["dynamic", "traditional"]))
        pools = []
        for p in range(int(rng.integers(1, 3))):
            pool = {
                "name": f"p{p}",
                "count": int(rng.integers(1, 4)),
                "max_pods": int(rng.choice([30, 40]))
                if cni == "traditional"
                else int(rng.choice([30, 50, 110])),
                "node_subnet": "s0" if cni == "traditional" else "s1",
                "system_pods_per_node": int(rng.integers(0, 3)),
            }
            if cni == "dynamic":
                pool["pod_subnet"] = str(rng.choice(["s2", "s0"]))
            pools.append(pool)
        cluster = {
            "name": f"c{c}",
            "cni": cni,
            "node_pools": pools,
            "timings": {
                "node_provision": f"{int(rng.integers(0, 90))}s",
                "nnc_fulfilment": f"{int(rng.integers(0, 8))}s",
            },
            "ipam": {
                "batch_size": int(rng.choice([1, 4, 16])),
                "partial_fulfilment": bool(rng.integers(0, 2)),
            },
        }
        clusters.append(cluster)
        workloads.append(
            {"name": f"w{c}", "cluster": f"c{c}", "replicas": int(rng.integers(0, 60))}
        )
        for _ in range(int(rng.integers(2, 8))):
            at = f"{int(rng.integers(0, 540))}s"
            if rng.integers(0, 2):
                timeline.append(
                    {
                        "at": at,
                        "scale_workload": {
                            "workload": f"w{c}",
                            "replicas": int(rng.integers(0, 120)),
                        },
                    }
                )
            else:
                timeline.append(
                    {
                        "at": at,
                        "scale_node_pool": {
                            "cluster": f"c{c}",
                            "node_pool": str(rng.choice([p["name"] for p in pools])),
                            "count": int(rng.integers(0, 6)),
                        },
                    }
                )
        for pool in pools:
            timeline.append(
                {
                    "at": "580s",
                    "scale_node_pool": {"cluster": f"c{c}", "node_pool": pool["name"], "count": 0},
                }
            )
    return {
        "name": "random", "duration": "10m", "sample_every": "5s",
        "network": {"vnets": [{"name": "v", "address_space": ["10.0.0.0/8"],
                               "subnets": subnets}]},
        "clusters": clusters, "workloads": workloads, "timeline": timeline,
    }  # fmt: skip


@pytest.mark.parametrize("seed", range(60))
def test_every_address_comes_back(seed):
    doc = _random_scenario(np.random.default_rng(seed))
    result = simulator.run(doc)
    for name, subnet in result.summary["subnets"].items():
        assert subnet["final_allocated"] == 0, name
        assert subnet["final_assigned"] == 0, name
        assert 0 <= subnet["peak_assigned"] <= subnet["peak_allocated"] <= subnet["capacity"]
    frame = result.subnets
    assert (frame["assigned"] <= frame["allocated"]).all()
    assert (frame["allocated"] <= frame["capacity"]).all()
    live = result.pods[result.pods["state"].isin(["running", "starting"])]
    assert live.empty  # every node is gone at the end
    ran = result.pods[result.pods["running_s"].notna()]
    assert (ran["ip"] != "").all()
