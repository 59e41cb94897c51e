"""Plan: ``ipsim plan`` on two scenarios.

1. The search (``--case search``, the default): a 1,000-node, 20,000-pod, 6 h scenario
   sized by ``plan`` with two workers, against one run of the same scenario. A first
   run with room to spare, a bracket around its peak and every candidate stopping at
   its first failed check keep the plan near two runs' time (target: plan time / one
   run's time at most 4, by wall time; CPU seconds, the workers' included, beside it).
2. Parallel replicas (``--case replicas``): a 1,000-node scenario with 8 replicas, with
   -j 1 and -j 2; two workers should take a little over half the time of one (target:
   -j 2 at least 1.7x faster).

    python benchmarks/plan.py [--case search|replicas|both] [--nodes 1000] [--replicas 8]
                              [--exhaustion]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import yaml
from common import scale_scenario, timing

import simulator
from simulator.experiments.executors import LocalExecutor
from simulator.experiments.plan import plan


def search_scenario(nodes: int = 1000, pods: int = 20_000, hours: float = 6) -> dict:
    """``pods`` web replicas spread over ``nodes`` dynamic nodes for ``hours``; half of
    them leave after an hour and come back after three (the pod subnet's batches follow)."""
    doc = scale_scenario("dynamic", nodes=nodes, lifecycles=1, concurrent=1, hours=hours)
    doc["name"] = "plan-search"
    doc["workloads"] = [{"name": "web", "cluster": "big", "replicas": pods}]
    doc["timeline"] = [
        {"at": "1h", "scale_workload": {"workload": "web", "replicas": pods // 2}},
        {"at": "3h", "scale_workload": {"workload": "web", "replicas": pods}},
    ]
    return doc


def search_case(folder: Path, nodes: int, exhaustion: bool = False) -> None:
    path = folder / "plan-search.yaml"
    doc = search_scenario(nodes)
    if exhaustion:  # not the default: the control plane marks the subnet exhausted
        doc["network"]["exhaustion"] = {"enabled": True}
    path.write_text(yaml.safe_dump(doc))
    one, result = timing(lambda: simulator.run(path))
    print(f"one run: {one} ({result.summary['pods']['created']:,} pods, verdict "
          f"{result.summary['verdict']})")  # fmt: skip

    def search():
        executor = LocalExecutor(2)
        try:
            return plan(path, subnets=["pods"], executor=executor)
        finally:
            executor.close()  # inside the timing: the workers' CPU counts once they exit

    spent, answer = timing(search)
    print(f"plan -j 2: {spent}, {answer.runs} runs; {answer.subnets[0].sentence()}")
    stopped = answer.table[answer.table["stopped_at_s"].notna()]
    for row in stopped.itertuples():
        print(f"  /{row.prefix} stopped at {row.stopped_at_s:,.0f} s of {6 * 3600:,} s")
    print(
        f"plan time / one run's time: {spent.wall / one.wall:.2f} wall, "
        f"{spent.cpu / one.cpu:.2f} CPU (target <= 4)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["search", "replicas", "both"], default="search")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--replicas", type=int, default=8)
    parser.add_argument("--lifecycles", type=float, default=5_000)
    parser.add_argument(
        "--exhaustion",
        action="store_true",
        help="search: with subnet exhaustion mode on (off by default, as in the public "
        "CNS configs): the /17 then passes narrowly, reconciling at every flip of the flag",
    )
    args = parser.parse_args()
    if args.case in ("search", "both"):
        with tempfile.TemporaryDirectory() as folder:
            search_case(Path(folder), args.nodes, exhaustion=args.exhaustion)
    if args.case in ("replicas", "both"):
        replicas_case(args)


def replicas_case(args: argparse.Namespace) -> None:
    doc = scale_scenario(
        "dynamic", nodes=args.nodes, lifecycles=args.lifecycles, concurrent=4000, hours=1
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan-bench.yaml"
        path.write_text(yaml.safe_dump(doc))
        spent = {}
        for jobs in (1, 2):

            def search(jobs: int = jobs):
                executor = LocalExecutor(jobs)
                try:
                    return plan(path, subnets=["pods"], replicas=args.replicas, executor=executor)
                finally:
                    executor.close()

            spent[jobs], result = timing(search)
            print(f"-j {jobs}: {spent[jobs]}, {result.runs} runs; {result.subnets[0].sentence()}")
    print(f"speed-up -j 2 over -j 1: {spent[1].wall / spent[2].wall:.2f}x wall (target >= 1.7)")


if __name__ == "__main__":
    main()
