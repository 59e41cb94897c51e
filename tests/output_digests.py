"""Digests of every output file for every shipped scenario and a set of churny worlds.

A change that must not change behaviour (a refactoring, a speed-up) is checked by
running this before and after it and comparing the two files::

    python tests/output_digests.py > before.json
    ... change ...
    python tests/output_digests.py > after.json
    python tests/output_digests.py --compare before.json after.json

It uses only the public API (``simulator.run`` and ``Result.write_files``), so it runs
on any version of the package. The worlds mix both CNI modes, pool monitors v1 and v2,
exhaustion, Deployments with rollouts and ramps, Jobs, DaemonSets, the autoscaler,
upgrades and node deletions; their seeds are fixed, so the digests repeat.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simulator  # noqa: E402

#: Churny worlds digested besides the shipped scenarios.
WORLDS = 24


def churny_world(seed: int) -> dict[str, Any]:
    """A small random world with much going on (fixed by ``seed``)."""
    rng = np.random.default_rng(seed)
    subnets = [
        {"name": "nodes", "cidr": f"10.1.0.0/{int(rng.integers(22, 26))}"},
        {"name": "pods", "cidr": f"10.2.0.0/{int(rng.integers(22, 26))}"},
    ]
    clusters, workloads, timeline = [], [], []
    for c in range(int(rng.integers(1, 3))):
        cni = str(rng.choice(["dynamic", "traditional"]))
        name = f"c{c}"
        pools = []
        for p in range(int(rng.integers(1, 3))):
            pool: dict[str, Any] = {
                "name": f"p{p}",
                "count": int(rng.integers(1, 4)),
                "max_pods": int(rng.choice([30, 50])),
                "node_subnet": "nodes",
                "system_pods_per_node": int(rng.integers(0, 3)),
            }
            if rng.integers(0, 3) == 0:
                pool["autoscaler"] = {"min": 1, "max": int(rng.integers(4, 8))}
                pool["count"] = max(pool["count"], 1)
            pools.append(pool)
        cluster: dict[str, Any] = {
            "name": name,
            "cni": cni,
            "node_pools": pools,
            "scheduling": str(rng.choice(["spread", "binpack"])),
            "timings": {"node_provision": f"{int(rng.integers(10, 90))}s"},
        }
        if cni == "dynamic":
            cluster["pod_subnet"] = "pods"
            cluster["ipam"] = {
                "pool_monitor": str(rng.choice(["v1", "v2"])),
                "batch_size": int(rng.choice([4, 16])),
            }
        clusters.append(cluster)
        workloads.append(
            {
                "name": f"web{c}",
                "cluster": name,
                "replicas": int(rng.integers(5, 60)),
                "termination_grace": f"{int(rng.integers(0, 30))}s",
            }
        )
        workloads.append(
            {
                "name": f"job{c}",
                "kind": "job",
                "cluster": name,
                "rate": f"{int(rng.integers(2, 20))}/min",
                "lifetime": {"distribution": "exponential", "mean": "90s"},
            }
        )
        if rng.integers(0, 2):
            workloads.append({"name": f"ds{c}", "kind": "daemonset", "cluster": name})
        for _ in range(int(rng.integers(3, 8))):
            at = f"{int(rng.integers(0, 1700))}s"
            kind = int(rng.integers(0, 4))
            pool = pools[int(rng.integers(0, len(pools)))]
            if kind == 0:
                timeline.append(
                    {
                        "at": at,
                        "scale_workload": {
                            "workload": f"web{c}",
                            "replicas": int(rng.integers(0, 150)),
                        },
                    }
                )
            elif kind == 1:
                timeline.append({"at": at, "rollout_workload": {"workload": f"web{c}"}})
            elif kind == 2 and "autoscaler" not in pool:
                timeline.append(
                    {
                        "at": at,
                        "scale_node_pool": {
                            "cluster": name,
                            "node_pool": pool["name"],
                            "count": int(rng.integers(0, 6)),
                        },
                    }
                )
            else:
                timeline.append(
                    {
                        "at": at,
                        "upgrade_node_pool": {
                            "cluster": name,
                            "node_pool": pool["name"],
                            "max_surge": int(rng.integers(1, 3)),
                        },
                    }
                )
    return {
        "name": f"churn-{seed}",
        "duration": "30m",
        "sample_every": "15s",
        "seed": seed,
        "network": {
            "vnets": [{"name": "vnet", "address_space": ["10.0.0.0/8"], "subnets": subnets}],
            "exhaustion": {"enabled": bool(rng.integers(0, 2))},
        },
        "clusters": clusters,
        "workloads": workloads,
        "timeline": timeline,
    }


def _digest_folder(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.name.startswith(".")
    }


def digests(*, charts: bool = True) -> dict[str, dict[str, str]]:
    """Every case's output files and their digests."""
    cases: list[tuple[str, Any]] = [
        (path.stem, str(path)) for path in sorted((ROOT / "scenarios").glob("*.yaml"))
    ]
    cases += [(f"churn-{seed}", churny_world(seed)) for seed in range(WORLDS)]
    out: dict[str, dict[str, str]] = {}
    for name, source in cases:
        result = simulator.run(source)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            result.write_files(folder)
            found = _digest_folder(folder)
        if not charts:
            found = {k: v for k, v in found.items() if not k.endswith(".png")}
        out[name] = found
        print(f"{name}: {len(found)} files", file=sys.stderr, flush=True)
    return out


def compare(before: Path, after: Path) -> int:
    """Print each file whose digest differs; returns how many differ."""
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    differ = 0
    for case in sorted(set(a) | set(b)):
        for file in sorted(set(a.get(case, {})) | set(b.get(case, {}))):
            if a.get(case, {}).get(file) != b.get(case, {}).get(file):
                differ += 1
                print(f"{case}/{file}: differs")
    print(f"{differ} file(s) differ", file=sys.stderr)
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--no-charts", action="store_true", help="leave PNG files out")
    args = parser.parse_args()
    if args.compare:
        sys.exit(1 if compare(*args.compare) else 0)
    json.dump(digests(charts=not args.no_charts), sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
