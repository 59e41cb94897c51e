"""Growth: the same workload at 1x, 2x and 4x pods; wall time should grow linearly.

Prints each run and the fitted exponent of time against pod count (target <= 1.1).

    python benchmarks/growth.py [--nodes 1000] [--lifecycles 100000]
"""

from __future__ import annotations

import argparse
import math

from common import model_run, scale_scenario, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--lifecycles", type=float, default=100_000)
    parser.add_argument("--concurrent", type=float, default=6_000)
    parser.add_argument("--hours", type=float, default=6)
    args = parser.parse_args()
    points = []
    for factor in (1, 2, 4):
        doc = scale_scenario(
            "dynamic",
            nodes=args.nodes,
            lifecycles=args.lifecycles * factor,
            concurrent=args.concurrent * factor,
            hours=args.hours,
        )
        wall, (result, _) = timed(lambda doc=doc: model_run(doc))
        pods = result.summary["pods"]["created"]
        points.append((pods, wall))
        print(f"{factor}x: {pods:,} pod lifecycles in {wall:.2f} s ({pods / wall:,.0f} pods/s)")
    xs = [math.log(p) for p, _ in points]
    ys = [math.log(w) for _, w in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mean_x) ** 2 for x in xs
    )
    print(f"growth exponent {slope:.2f} (target <= 1.1)")


if __name__ == "__main__":
    main()
