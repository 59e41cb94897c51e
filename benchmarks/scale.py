"""Scale: a 5,000-node cluster replaying about a million pod lifecycles in 24 hours.

Prints, for dynamic (pool monitor v1) and traditional CNI, or any CNI mode (``--cni``:
a mode, ``both`` or ``all``; kubenet runs at most its 400 nodes): the seconds spent simulating
and building the result (frames and summary), pod lifecycles and SimPy events per
second, peak memory, and the ratio to a bare SimPy replay of the very same pod arrival
and departure times (the floor: each pod only waits and leaves). The ratio is the
model's own cost on top of the engine, comparable across machines; it is printed for the
simulation alone and with the result's frames.

    python benchmarks/scale.py [--nodes 5000] [--lifecycles 1000000] [--cni dynamic|all]
                               [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import statistics

from common import bare_replay, model_run, peak_rss_mib, replay_times, scale_scenario, timed

from simulator.core.modes import MODES, simulated_modes


def measure(
    cni: str, nodes: int, lifecycles: float, concurrent: float, hours: float
) -> tuple[float, float]:
    """One model run and its floor; returns model/floor for the simulation and in all."""
    nodes = min(nodes, MODES[cni].max_nodes)  # kubenet: 400
    doc = scale_scenario(cni, nodes=nodes, lifecycles=lifecycles, concurrent=concurrent,
                         hours=hours)  # fmt: skip
    run = model_run(doc)
    arrivals, stays, end = replay_times(run.result)
    del run.result
    gc.collect()  # the floor should not pay for the model's leftovers
    floor, floor_events = timed(lambda: bare_replay(arrivals, stays, end))
    count = len(arrivals)
    sim = run.simulate_s
    print(
        f"{cni:11} nodes {nodes:,}  pod lifecycles {count:,}\n"
        f"  simulate {sim:.1f} s ({count / sim:,.0f} pods/s, {run.events / sim:,.0f} events/s, "
        f"{run.events:,} events)  results {run.results_s:.1f} s  "
        f"floor {floor:.1f} s ({floor_events:,} events)\n"
        f"  model/floor {sim / floor:.2f} (simulation)  {run.total_s / floor:.2f} "
        f"(with the result's frames)  peak RSS {peak_rss_mib():,.0f} MiB",
        flush=True,
    )
    return sim / floor, run.total_s / floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--lifecycles", type=float, default=1_000_000)
    parser.add_argument("--concurrent", type=float, default=60_000)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--cni", choices=[*simulated_modes(), "both", "all"], default="both")
    parser.add_argument(
        "--repeat", type=int, default=1, help="pairs of model and floor runs (median printed)"
    )
    args = parser.parse_args()
    modes = {"both": ["dynamic", "traditional"], "all": list(simulated_modes())}.get(
        args.cni, [args.cni]
    )
    for cni in modes:
        pairs = [
            measure(cni, args.nodes, args.lifecycles, args.concurrent, args.hours)
            for _ in range(args.repeat)
        ]
        if args.repeat > 1:
            print(
                f"{cni}: median model/floor over {args.repeat} pairs: "
                f"{statistics.median(p[0] for p in pairs):.2f} (simulation, target <= 2.0), "
                f"{statistics.median(p[1] for p in pairs):.2f} (with the result's frames)"
            )


if __name__ == "__main__":
    main()
