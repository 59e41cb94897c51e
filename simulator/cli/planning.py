"""The planning commands: ``calc`` and ``chart capacity`` (formulas), ``compare``, ``plan``
and ``sweep`` (many runs)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from simulator.cli.common import (
    cnis_option,
    executor,
    executor_options,
    output_folder,
    progress_bar,
    with_progress,
)
from simulator.cli.run import checks_option, load_with_checks, parse_checks
from simulator.core.modes import MODES, simulated_modes
from simulator.errors import IpsimError
from simulator.experiments.plan import DEFAULT_HEADROOM
from simulator.results.folders import check_target
from simulator.scenario.loader import load_scenario

__all__ = ["calc", "chart", "compare", "plan", "sweep"]

_SIMULATED = ",".join(simulated_modes())


def _run_variants(work, kind, scenario, cni, sets, replicas, seed, output, force, jobs, dask):
    """Shared by compare and sweep: every variant × replica on the chosen executor, with
    a progress bar; returns the result and the folder it was saved to."""
    from simulator.scenario.variants import parse_settings, variants

    settings = parse_settings(sets)
    spec = load_scenario(scenario)
    target = output_folder(output, spec.name, kind, force, scenario)
    cnis = cnis_option(cni)
    count = len(variants(cnis, settings)) * replicas
    with executor(jobs, dask) as runner:
        result = with_progress(
            count,
            kind,
            lambda tick: work(
                scenario,
                settings=settings,
                cnis=cnis,
                replicas=replicas,
                seed=seed,
                executor=runner,
                progress=tick,
            ),
        )
    return result, result.save(target, force=force)


_COMPARE_EXAMPLES = """
\b
Examples:
  ipsim compare scenarios/autoscaler-batch-jobs.yaml --cni traditional,dynamic
  ipsim compare s.yaml --set 'clusters[aks1].ipam.batch_size=8,16' --replicas 5
"""


@click.command(epilog=_COMPARE_EXAMPLES)
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--cni", "cni", metavar="MODES", help=f"comma-separated: {_SIMULATED}")
@click.option("--set", "sets", multiple=True, metavar="KEY=V1,V2", help="vary a scenario key")
@click.option("--replicas", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="override the scenario's seed")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="[default: results/NAME-compare]"
)
@click.option("--force", is_flag=True, help="replace a results folder ipsim wrote")
@executor_options
def compare(scenario, cni, sets, replicas, seed, output, force, jobs, dask) -> None:
    """Compare variants of SCENARIO (same seeds) by address use.

    Every combination of --cni and --set values runs with the same seeds, so every
    variant replays the very same pods."""
    from simulator.experiments.compare import compare as run_compare

    result, saved = _run_variants(
        run_compare, "compare", scenario, cni, sets, replicas, seed, output, force, jobs, dask
    )
    shown = result.table[
        [
            "variant",
            "subnet",
            "verdict",
            "peak_allocated",
            "mean_allocated",
            "peak_assigned",
            "ips_per_pod",
            "nodes_failed",
            "pods_waited",
            "p95_wait_s",
        ]
    ]
    click.echo(shown.to_string(index=False))
    if result.variants is not None:
        click.echo()
        columns = ["variant", "vnet_peak_addresses", "pod_cidr_peak_blocks", "nodes_failed"]
        columns += ["operations_refused", "pods_waited", "max_nodes"]
        click.echo(result.variants[columns].to_string(index=False))
    click.echo(f"results written to {saved}/")


_CALC_EXAMPLES = """
\b
Examples:
  ipsim calc --cni traditional --nodes 50 --max-pods 30 --surge 1
  ipsim calc --cni dynamic --nodes 10 --max-pods 250 --pods-per-node 20 --json
"""


@click.command(epilog=_CALC_EXAMPLES)
@click.option("--cni", "mode", type=click.Choice(list(MODES)), required=True)
@click.option("--nodes", type=click.IntRange(1, 5000), required=True)
@click.option("--max-pods", type=click.IntRange(10, 250), required=True)
@click.option("--surge", type=click.IntRange(0, 5000), default=0, show_default=True)
@click.option("--pods-per-node", type=click.IntRange(0, 250), help="dynamic: pods each node runs")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def calc(mode, nodes, max_pods, surge, pods_per_node, as_json) -> None:
    """Addresses each subnet needs, from the documented formulas."""
    from simulator.core.capacity import calculate
    from simulator.core.modes import Space

    spec = MODES[mode]
    if nodes + surge > spec.max_nodes:
        raise IpsimError(
            f"--nodes: {nodes} + surge {surge} nodes; {spec.max_nodes_reason} holds at most "
            f"{spec.max_nodes}"
        )
    needs = calculate(mode, nodes, max_pods, surge=surge, pods_per_node=pods_per_node)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "mode": mode,
                    "nodes": nodes,
                    "surge": surge,
                    "max_pods": max_pods,
                    "pods_per_node": pods_per_node,
                    "subnets": [n.as_dict() for n in needs],
                },
                indent=2,
            )
        )
        return
    for need in needs:
        space = Space(need.subnet)
        usable = "addresses" if space is Space.POD_CIDR else "usable"
        where = f"/{need.prefix} ({need.usable:,} {usable})" if need.prefix else "more than a /8"
        unit = "/24s" if space is Space.POD_CIDR else "/28 blocks"
        blocks = f" ({need.blocks:,} {unit})" if need.blocks is not None else ""
        click.echo(f"{space.label}: {need.addresses:,} addresses{blocks} -> {where}; {need.note}")


_PLAN_EXAMPLES = """
\b
Examples:
  ipsim plan scenarios/exhaustion-rescue.yaml --subnet podsubnet
  ipsim plan s.yaml --checks max_ip_wait=2m --headroom 50
  ipsim plan s.yaml --replicas 8 -j 4           # every replica must pass
"""


@click.command(epilog=_PLAN_EXAMPLES)
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--subnet", "subnets", multiple=True, help="subnet to size [default: every used one]")
@click.option("--replicas", type=click.IntRange(1, 10_000), default=1, show_default=True)
@checks_option
@click.option(
    "--headroom",
    type=click.FloatRange(0, 1000),
    default=DEFAULT_HEADROOM,
    show_default=True,
    metavar="PERCENT",
    help="the recommended size holds the peak plus this share",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="override the scenario's seed")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="[default: results/NAME-plan]"
)
@click.option("--force", is_flag=True, help="replace a results folder ipsim wrote")
@executor_options
def plan(scenario, subnets, replicas, checks, headroom, seed, output, force, jobs, dask) -> None:
    """Smallest prefix of each subnet that passes the checks.

    For each subnet (the others keep their size), a run with room to spare, a bracket
    around its peak, then bisection; each run stops at its first failed check."""
    from simulator.experiments.plan import plan as run_plan

    overrides = parse_checks(checks)
    spec = load_with_checks(scenario, overrides)
    target = output_folder(output, spec.name, "plan", force, scenario)
    with executor(jobs, dask) as runner, progress_bar(None, "plan") as bar:

        def total(count: int) -> None:
            bar.total = count
            bar.refresh()

        result = run_plan(
            scenario,
            subnets=list(subnets) or None,
            replicas=replicas,
            seed=seed,
            checks=overrides,
            headroom=headroom,
            executor=runner,
            progress=bar.update,
            on_total=total,
        )
        if result.interrupted:
            runner.abort()
    saved = result.save(target, force=force)
    for answer in result.subnets:
        click.echo(answer.sentence())
    if result.interrupted:
        click.echo(f"interrupted: the answer so far; {result.runs} runs written to {saved}/")
        sys.exit(130)
    click.echo(f"{result.runs} runs; results written to {saved}/")


_SWEEP_EXAMPLES = """
\b
Example:
  ipsim sweep scenarios/quickstart.yaml --set 'clusters[aks1].node_pools[user].max_pods=30,60,110'
"""


@click.command(epilog=_SWEEP_EXAMPLES)
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--set", "sets", multiple=True, required=True, metavar="KEY=V1,V2")
@click.option("--cni", "cni", metavar="MODES", help=f"also vary the CNI: {_SIMULATED}")
@click.option("--replicas", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="override the scenario's seed")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="[default: results/NAME-sweep]"
)
@click.option("--force", is_flag=True, help="replace a results folder ipsim wrote")
@executor_options
def sweep(scenario, sets, cni, replicas, seed, output, force, jobs, dask) -> None:
    """Run every combination of --set values × replicas.

    One row per run in sweep.csv, a failed run included with its error; prints the
    verdict and the figures that vary per combination."""
    from simulator.experiments.sweep import sweep as run_sweep

    result, saved = _run_variants(
        run_sweep, "sweep", scenario, cni, sets, replicas, seed, output, force, jobs, dask
    )
    failed = int(result.table["error"].notna().sum())
    if failed < len(result.table):
        click.echo(result.summary_table().to_string(index=False))
    click.echo(f"{len(result.table)} runs, {failed} failed; results written to {saved}/")


@click.group()
def chart() -> None:
    """Charts computed from formulas."""


_CAPACITY_EXAMPLES = """
\b
Example:
  ipsim chart capacity --max-pods 30 --pods-per-node 20 --prefix-range 26-20
"""


@chart.command("capacity", epilog=_CAPACITY_EXAMPLES)
@click.option("--max-pods", type=click.IntRange(10, 250), required=True)
@click.option("--pods-per-node", type=click.IntRange(1, 250), required=True)
@click.option("--prefix-range", default="28-16", show_default=True, metavar="LONG-SHORT")
@click.option(
    "--pod-cidr-prefix",
    type=click.IntRange(8, 24),
    default=16,
    show_default=True,
    help="Overlay and kubenet: the pod CIDR's prefix length",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="[default: results/capacity]")
@click.option("--force", is_flag=True, help="replace a results folder ipsim wrote")
def chart_capacity(max_pods, pods_per_node, prefix_range, pod_cidr_prefix, output, force) -> None:
    """Largest node and pod count each prefix holds, per mode, in one cluster."""
    from simulator.experiments.capacity_table import capacity_table, save_capacity

    try:
        longest, shortest = (int(x) for x in prefix_range.split("-"))
    except ValueError:
        raise IpsimError(
            f"--prefix-range: expected LONG-SHORT such as 28-16 (got {prefix_range!r})"
        ) from None
    if not (8 <= shortest <= longest <= 29):
        raise IpsimError(
            f"--prefix-range: prefixes must satisfy 8 <= SHORT <= LONG <= 29 (got {prefix_range})"
        )
    target = output or Path("results") / "capacity"
    check_target(target, force=force)
    table = capacity_table(
        max_pods, pods_per_node, range(longest, shortest - 1, -1), pod_cidr_prefix=pod_cidr_prefix
    )
    saved = save_capacity(
        table, max_pods, pods_per_node, target, force=force, pod_cidr_prefix=pod_cidr_prefix
    )
    click.echo(table.to_string(index=False))
    click.echo(f"results written to {saved}/")
