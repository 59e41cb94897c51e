"""Plan: ``ipsim plan`` on a 1,000-node scenario with 8 replicas, with -j 1 and -j 2.

The replicas of each step of the search run in parallel, so two workers should take a
little over half the time of one (target: -j 2 at least 1.7x faster).

    python benchmarks/plan.py [--nodes 1000] [--replicas 8]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import yaml
from common import scale_scenario, timed

from simulator.experiments.executors import LocalExecutor
from simulator.experiments.plan import plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--replicas", type=int, default=8)
    parser.add_argument("--lifecycles", type=float, default=5_000)
    args = parser.parse_args()
    doc = scale_scenario(
        "dynamic", nodes=args.nodes, lifecycles=args.lifecycles, concurrent=4000, hours=1
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan-bench.yaml"
        path.write_text(yaml.safe_dump(doc))
        walls = {}
        for jobs in (1, 2):
            executor = LocalExecutor(jobs)
            try:
                wall, result = timed(
                    lambda executor=executor: plan(
                        path, subnets=["pods"], replicas=args.replicas, executor=executor
                    )
                )
            finally:
                executor.close()
            walls[jobs] = wall
            print(f"-j {jobs}: {wall:.1f} s, {result.runs} runs; {result.subnets[0].sentence()}")
    print(f"speed-up -j 2 over -j 1: {walls[1] / walls[2]:.2f}x (target >= 1.7)")


if __name__ == "__main__":
    main()
