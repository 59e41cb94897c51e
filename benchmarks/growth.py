"""Growth: the same workload at 1x, 2x and 4x pods; time should grow linearly.

Two ways to have more pods: ``longer`` keeps the cluster as it is and replays 2x or 4x
the pod lifecycles over 2x or 4x the time (cost per pod event must stay flat), and
``denser`` packs 2x or 4x the pods into the same hours (more concurrent pods, a bigger
event queue). Each is also replayed by bare SimPy (the floor), so the fitted exponents
show what the model adds and what the engine itself does (target: model <= 1.1).

    python benchmarks/growth.py [--nodes 1000] [--lifecycles 100000] [--way longer|denser|both]
"""

from __future__ import annotations

import argparse
import gc
import math

from common import bare_replay, model_run, replay_times, scale_scenario, timed


def exponent(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of log(time) against log(pods)."""
    xs = [math.log(p) for p, _ in points]
    ys = [math.log(w) for _, w in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    top = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return top / sum((x - mean_x) ** 2 for x in xs)


def grow(way: str, nodes: int, lifecycles: float, concurrent: float, hours: float) -> None:
    model, floor = [], []
    for factor in (1, 2, 4):
        doc = scale_scenario(
            "dynamic",
            nodes=nodes,
            lifecycles=lifecycles * factor,
            concurrent=concurrent * (factor if way == "denser" else 1),
            hours=hours * (factor if way == "longer" else 1),
        )
        run = model_run(doc)
        wall = run.total_s
        arrivals, stays, end = replay_times(run.result)
        del run
        gc.collect()  # the floor should not pay for the model's leftovers
        bare, _ = timed(lambda a=arrivals, g=stays, e=end: bare_replay(a, g, e))
        pods = len(arrivals)
        model.append((pods, wall))
        floor.append((pods, bare))
        print(
            f"{way} {factor}x: {pods:,} pod lifecycles, model {wall:.2f} s "
            f"({pods / wall:,.0f} pods/s), floor {bare:.2f} s, model/floor {wall / bare:.2f}"
        )
    print(
        f"{way}: growth exponent model {exponent(model):.2f} (target <= 1.1), "
        f"floor {exponent(floor):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--lifecycles", type=float, default=100_000)
    parser.add_argument("--concurrent", type=float, default=6_000)
    parser.add_argument("--hours", type=float, default=6)
    parser.add_argument("--way", choices=["longer", "denser", "both"], default="both")
    args = parser.parse_args()
    for way in ("longer", "denser") if args.way == "both" else (args.way,):
        grow(way, args.nodes, args.lifecycles, args.concurrent, args.hours)


if __name__ == "__main__":
    main()
