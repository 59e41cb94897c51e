"""Idle: 5,000 nodes and their pods, no changes after start, for 1 hour and for 30 days.

Nothing in the model polls, so 30 simulated days should cost about what 1 hour costs
(the sample grid is kept at the same number of rows for both).

    python benchmarks/idle.py [--nodes 5000]
"""

from __future__ import annotations

import argparse

from common import model_run, node_pools, peak_rss_mib


def idle_scenario(nodes: int, seconds: float) -> dict:
    return {
        "name": "idle",
        "duration": seconds,
        "sample_every": seconds / 100,
        "network": {
            "vnets": [
                {
                    "name": "vnet",
                    "address_space": ["10.0.0.0/8"],
                    "subnets": [
                        {"name": "nodes", "cidr": "10.0.0.0/18"},
                        {"name": "pods", "cidr": "10.64.0.0/12"},
                    ],
                }
            ]
        },
        "clusters": [
            {
                "name": "big",
                "pod_subnet": "pods",
                "node_pools": node_pools(nodes),
            }
        ],
        "workloads": [{"name": "web", "cluster": "big", "replicas": nodes * 12}],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    args = parser.parse_args()
    hour = model_run(idle_scenario(args.nodes, 3600)).total_s
    month = model_run(idle_scenario(args.nodes, 30 * 86400)).total_s
    print(
        f"idle {args.nodes:,} nodes: 1 hour {hour:.2f} s, 30 days {month:.2f} s, "
        f"ratio {month / hour:.2f} (target <= 1.5), peak RSS {peak_rss_mib():,.0f} MiB"
    )


if __name__ == "__main__":
    main()
