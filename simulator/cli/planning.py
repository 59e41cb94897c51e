"""The planning commands: ``calc`` and ``chart capacity`` (formulas), ``compare``, ``plan``
and ``sweep`` (many runs)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from simulator.cli.common import cnis_option, executor_options, output_folder, with_progress
from simulator.core.modes import MODES, simulated_modes
from simulator.errors import IpsimError
from simulator.results.folders import check_target
from simulator.scenario.loader import load_scenario

__all__ = ["calc", "chart", "compare", "plan", "sweep"]

_SIMULATED = ",".join(simulated_modes())


def _run_variants(work, kind, scenario, cni, sets, replicas, seed, output, force, jobs, dask):
    """Shared by compare and sweep: every variant × replica on the chosen executor, with
    a progress bar; returns the result and the folder it was saved to."""
    from simulator.experiments.executors import make_executor
    from simulator.scenario.variants import parse_settings, variants

    settings = parse_settings(sets)
    spec = load_scenario(scenario)
    target = output_folder(output, spec.name, kind, force)
    cnis = cnis_option(cni)
    count = len(variants(cnis, settings)) * replicas
    executor = make_executor(jobs, dask)
    try:
        result = with_progress(
            count,
            kind,
            lambda tick: work(
                scenario,
                settings=settings,
                cnis=cnis,
                replicas=replicas,
                seed=seed,
                executor=executor,
                progress=tick,
            ),
        )
    finally:
        executor.close()
    return result, result.save(target, force=force)


@click.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--cni", "cni", metavar="MODES", help=f"comma-separated: {_SIMULATED}")
@click.option("--set", "sets", multiple=True, metavar="KEY=V1,V2", help="vary a scenario key")
@click.option("--replicas", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="override the scenario's seed")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="[default: results/NAME-compare]"
)
@click.option("--force", is_flag=True, help="replace an existing results folder")
@executor_options
def compare(scenario, cni, sets, replicas, seed, output, force, jobs, dask) -> None:
    """Run SCENARIO once per variant (same seeds) and compare address use."""
    from simulator.experiments.compare import compare as run_compare

    result, saved = _run_variants(
        run_compare, "compare", scenario, cni, sets, replicas, seed, output, force, jobs, dask
    )
    shown = result.table[
        [
            "variant",
            "subnet",
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


@click.command()
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


@click.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--subnet", "subnets", multiple=True, help="subnet to size [default: every used one]")
@click.option("--replicas", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option(
    "--max-ip-wait",
    type=float,
    default=0.0,
    show_default=True,
    help="seconds a pod may wait for an address beyond the normal round trip",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="override the scenario's seed")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="[default: results/NAME-plan]"
)
@click.option("--force", is_flag=True, help="replace an existing results folder")
@executor_options
def plan(scenario, subnets, replicas, max_ip_wait, seed, output, force, jobs, dask) -> None:
    """Find the smallest prefix of each subnet under which SCENARIO still runs."""
    from simulator.experiments.executors import make_executor
    from simulator.experiments.plan import plan as run_plan

    if max_ip_wait < 0:
        raise IpsimError(f"--max-ip-wait: must not be negative (got {max_ip_wait:g})")
    spec = load_scenario(scenario)
    target = output_folder(output, spec.name, "plan", force)
    executor = make_executor(jobs, dask)
    try:
        # The bisection decides how many runs it needs: the bar counts them, no total.
        result = with_progress(
            None,
            "plan",
            lambda tick: run_plan(
                scenario,
                subnets=list(subnets) or None,
                replicas=replicas,
                seed=seed,
                max_ip_wait=max_ip_wait,
                executor=executor,
                progress=tick,
            ),
        )
    finally:
        executor.close()
    saved = result.save(target, force=force)
    for answer in result.subnets:
        click.echo(answer.sentence())
    click.echo(f"{result.runs} runs; results written to {saved}/")


@click.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--set", "sets", multiple=True, required=True, metavar="KEY=V1,V2")
@click.option("--cni", "cni", metavar="MODES", help=f"also vary the CNI: {_SIMULATED}")
@click.option("--replicas", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="override the scenario's seed")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="[default: results/NAME-sweep]"
)
@click.option("--force", is_flag=True, help="replace an existing results folder")
@executor_options
def sweep(scenario, sets, cni, replicas, seed, output, force, jobs, dask) -> None:
    """Run SCENARIO for every combination of --set values × replicas."""
    from simulator.experiments.sweep import sweep as run_sweep

    result, saved = _run_variants(
        run_sweep, "sweep", scenario, cni, sets, replicas, seed, output, force, jobs, dask
    )
    failed = int(result.table["error"].notna().sum())
    click.echo(f"{len(result.table)} runs, {failed} failed; results written to {saved}/")


@click.group()
def chart() -> None:
    """Charts computed from formulas."""


@chart.command("capacity")
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
@click.option("--force", is_flag=True, help="replace an existing results folder")
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
