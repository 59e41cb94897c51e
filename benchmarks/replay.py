"""Replay: a pod trace of 10,000 and of 100,000 pods replayed by ``ipsim run``, whole
process (Python's start, reading the trace, validation, the simulation, the results and
every file and chart written).

Prints, for each size: the whole-process seconds of ``ipsim validate`` (reading and
validation) and of ``ipsim run``; the simulation alone in this process and a bare SimPy
replay of the very same pod times (each pod only arrives, waits and leaves) with their
ratio; and the 10k -> 100k growth of each (linear is 10x). Targets: 100,000 pods under
15 s whole process, growth at most 11x. With ``--public DIR`` (a folder holding the
public traces, e.g. ../shared/traces), it also replays the Alibaba openb and DLRM traces
and the SimKube trace on dynamic and traditional CNI and prints their replay checks.

    python benchmarks/replay.py [--sizes 10000,100000] [--public DIR] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from common import bare_replay

HOURS = 24
CONCURRENT = 3000  # pods alive at once (Little's law sets the mean lifetime)
IPSIM = [sys.executable, "-m", "simulator"]


def write_trace(folder: Path, pods: int, seed: int = 1) -> tuple[list[float], list[float], float]:
    """A pod-csv trace of Poisson arrivals over ``HOURS`` with exponential lifetimes;
    returns the arrival times and stays the bare replay needs, and the end."""
    rng = np.random.default_rng(seed)
    end = HOURS * 3600.0
    created = np.sort(rng.uniform(0, end, pods)).round(3)
    life = rng.exponential(CONCURRENT * end / pods, pods).round(3) + 1.0
    deleted = created + life
    alive = deleted >= end
    cpu = rng.choice(["100m", "250m", "500m", "1"], pods)
    memory = rng.choice(["128Mi", "256Mi", "512Mi", "1Gi"], pods)
    group = rng.integers(0, 200, pods)
    with open(folder / "pods.csv", "w") as out:
        out.write("name,created,deleted,cpu,memory,group\n")
        for i in range(pods):
            stop = "" if alive[i] else f"{deleted[i]:.3f}"
            out.write(f"pod-{i:06d},{created[i]:.3f},{stop},{cpu[i]},{memory[i]},app-{group[i]}\n")
    stays = np.where(alive, end - created, life)
    return created.tolist(), stays.tolist(), end


def scenario(
    folder: Path,
    trace: str,
    fmt: str,
    cni: str,
    duration: float,
    *,
    nodes: int,
    source: dict[str, Any] | None = None,
    sample: float = 300,
) -> Path:
    subnets = [{"name": "nodes", "cidr": "10.0.0.0/16" if cni == "dynamic" else "10.0.0.0/12"}]
    cluster: dict[str, Any] = {
        "name": "aks1",
        "cni": cni,
        "node_pools": [{"name": "user", "count": nodes, "max_pods": 250, "node_subnet": "nodes"}],
    }
    if cni == "dynamic":
        subnets.append({"name": "pods", "cidr": "10.64.0.0/14"})
        cluster["pod_subnet"] = "pods"
    doc = {
        "name": f"replay-{folder.name}-{cni}",
        "duration": duration,
        "sample_every": sample,
        "network": {"vnets": [{"name": "v", "address_space": ["10.0.0.0/8"], "subnets": subnets}]},
        "clusters": [cluster],
        "workloads": [
            {
                "name": "trace",
                "kind": "trace",
                "cluster": "aks1",
                "source": {"format": fmt, "file": trace, **(source or {})},
            }
        ],
    }
    path = folder / f"scenario-{cni}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def whole(*args: str) -> tuple[float, float]:
    """Wall and CPU seconds of one ipsim command, as a user runs it (a new process). On a
    shared machine the wall time also counts others' work; the CPU time does not."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([*IPSIM, *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"ipsim {' '.join(args)} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def simulate(path: Path) -> float:
    """CPU seconds of the simulation alone, in this process (after loading)."""
    import simulator
    from simulator.model.world import World

    spec = simulator.load_scenario(path)
    world = World(spec, spec.seed)
    start = time.process_time()
    world.run()
    return time.process_time() - start


def floor_cpu(arrivals: list[float], stays: list[float], end: float) -> float:
    """CPU seconds of the bare SimPy replay of the same pod times."""
    start = time.process_time()
    bare_replay(arrivals, stays, end)
    return time.process_time() - start


def measure(pods: int, root: Path) -> dict[str, float]:
    folder = root / f"{pods}"
    folder.mkdir(parents=True, exist_ok=True)
    arrivals, stays, end = write_trace(folder, pods)
    path = scenario(folder, "pods.csv", "pod-csv", "dynamic", end, nodes=100)
    validate, validate_cpu = whole("validate", str(path))
    run, run_cpu = whole("run", str(path), "-o", str(folder / "out"), "--force", "--strict")
    check = json.loads((folder / "out" / "replay_check.json").read_text())
    sim = simulate(path)
    floor = floor_cpu(arrivals, stays, end)
    c = check["workloads"]["trace"]
    print(
        f"{pods:>7,} pods, whole process: validate {validate:5.2f} s (CPU {validate_cpu:5.2f} s),"
        f" run {run:5.2f} s (CPU {run_cpu:5.2f} s); CPU of the simulation {sim:5.2f} s and of a "
        f"bare SimPy replay {floor:5.2f} s: ratio {sim / floor:.2f} (whole run / bare "
        f"{run_cpu / floor:.2f}); alive max diff {c['alive']['max_abs_diff']}, share equal "
        f"{c['alive']['share_equal']}",
        flush=True,
    )
    return {"validate": validate_cpu, "run": run_cpu, "sim": sim, "floor": floor, "run_wall": run}


PUBLIC = {
    "openb": (
        "openb_pod_list_default.csv",
        "alibaba-openb",
        2912706,
        10,
        30,
        {"window": {"start": 9990254}},
    ),
    "dlrm": ("disaggregated_DLRM_trace.csv", "alibaba-dlrm", 2677541, 500, 1800, {}),
    "simkube": ("simkube_large_trace.json", "simkube", 1265, 3, 5, {}),
}


def public(directory: Path, root: Path) -> None:
    for name, (file, fmt, duration, nodes, sample, source) in PUBLIC.items():
        if not (directory / file).is_file():
            print(f"{name}: {directory / file} not found, skipped")
            continue
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(directory / file, folder / file)  # a trace lies next to its scenario
        for cni in ("dynamic", "traditional"):
            path = scenario(
                folder,
                file,
                fmt,
                cni,
                duration,
                nodes=nodes,
                source=source,
                sample=1800 if sample > 5 else sample,
            )
            seconds, _ = whole("run", str(path), "-o", str(folder / f"out-{cni}"), "--force")
            check = json.loads((folder / f"out-{cni}" / "replay_check.json").read_text())
            c = check["workloads"]["trace"]
            print(
                f"{name:8} {cni:11} {c['pods']['read']:>6,} read {c['pods']['replayed']:>6,} "
                f"replayed {c['pods']['dropped']:>5,} dropped "
                f"{dict(c['pods']['dropped_by_reason'])}"
                f"; alive.max_abs_diff {c['alive']['max_abs_diff']}, alive.share_equal "
                f"{c['alive']['share_equal']} over {c['alive']['change_points']:,} change "
                f"points; {seconds:.1f} s",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--public", type=Path, help="folder of the public traces")
    parser.add_argument("--keep", type=Path, help="keep the scenarios and results here")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="ipsim-replay-"))
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
        figures = {n: measure(n, root) for n in sizes}
        if len(sizes) >= 2:
            small, big = figures[sizes[0]], figures[sizes[-1]]
            factor = sizes[-1] / sizes[0]
            print(
                f"{sizes[0]:,} -> {sizes[-1]:,} pods ({factor:g}x), CPU: validate "
                f"{big['validate'] / small['validate']:.2f}x, run "
                f"{big['run'] / small['run']:.2f}x, "
                f"simulation {big['sim'] / small['sim']:.2f}x, bare replay "
                f"{big['floor'] / small['floor']:.2f}x"
            )
        if args.public:
            public(args.public, root)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
