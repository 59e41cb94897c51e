"""``ipsim import`` (a scenario from a running cluster's exports) and ``ipsim calibrate``
(a run's per-node pools against a later NNC export)."""

from __future__ import annotations

from pathlib import Path

import click

from simulator.errors import IpsimError

__all__ = ["calibrate", "import_command"]

_FILE = click.Path(path_type=Path)


_IMPORT_EXAMPLES = """
\b
Examples:
  ipsim import --cluster aks.json --node-pools pools.json --vnet vnet.json -o scenario.yaml
  ipsim import --cluster a.json --node-pools a-pools.json --cluster b.json \\
      --node-pools b-pools.json --vnet vnet.json --usage usage.json -o shared.yaml
"""

_CALIBRATE_EXAMPLES = """
\b
Examples:
  ipsim calibrate results/my-cluster --nnc nnc-later.json
  ipsim calibrate results/my-cluster --nnc nnc.json --at 3600 -o calibration.csv
"""


@click.command(
    "import",
    epilog=_IMPORT_EXAMPLES,
    short_help="Write a scenario from a running cluster's exports.",
)
@click.option(
    "--cluster",
    "clusters",
    multiple=True,
    required=True,
    type=_FILE,
    help="az aks show -o json (one per cluster)",
)
@click.option(
    "--node-pools",
    "node_pools",
    multiple=True,
    type=_FILE,
    help="az aks nodepool list -o json (one per --cluster, in order)",
)
@click.option(
    "--vnet", "vnets", multiple=True, required=True, type=_FILE, help="az network vnet show -o json"
)
@click.option(
    "--usage",
    "usage",
    multiple=True,
    type=_FILE,
    help="az network vnet list-usage -o json: addresses in use per subnet",
)
@click.option("--nnc", type=_FILE, help="kubectl get nnc -n kube-system -o json")
@click.option("--name", help="scenario name [default: the first cluster's]")
@click.option("-o", "--output", type=_FILE, required=True, help="scenario file to write")
@click.option("--force", is_flag=True, help="replace a file ipsim wrote")
def import_command(clusters, node_pools, vnets, usage, nnc, name, output, force) -> None:
    """Write a commented scenario of the clusters, their pools, VNet and subnets."""
    from simulator.results.folders import check_file_target, write_file
    from simulator.scenario.importer import (
        HEADER,
        commented_yaml,
        import_files,
        is_imported_scenario,
    )
    from simulator.scenario.loader import load_scenario

    check_file_target(output, force=force, ours=is_imported_scenario)
    imported = import_files(
        list(clusters), list(node_pools), list(vnets), usage=list(usage), nnc=nnc, name=name
    )
    text = commented_yaml(imported.document, imported.comments, HEADER, imported.footer)
    try:
        load_scenario(imported.document, base=output.resolve().parent)
    except IpsimError as exc:
        raise IpsimError(f"{output}: the imported scenario does not validate: {exc}") from None
    saved = write_file(
        output, lambda path: path.write_text(text), force=force, ours=is_imported_scenario
    )
    doc = imported.document
    pools = sum(len(c["node_pools"]) for c in doc["clusters"])
    subnets = [s for v in doc["network"]["vnets"] for s in v["subnets"]]
    reserved = sum(s["reserved"] for s in subnets)
    click.echo(
        f"{len(doc['clusters'])} cluster(s) ({', '.join(c['cni'] for c in doc['clusters'])}), "
        f"{pools} node pool(s), {len(subnets)} subnet(s) with {reserved:,} addresses held by "
        f"other consumers: written to {saved}"
    )


@click.command(
    epilog=_CALIBRATE_EXAMPLES,
    short_help="Compare a run's node pools with a later NNC export.",
)
@click.argument("results", type=_FILE)
@click.option(
    "--nnc",
    type=_FILE,
    required=True,
    help="kubectl get nnc -n kube-system -o json, taken later from the cluster",
)
@click.option("--at", "at", type=float, help="simulated second to compare [default: the end]")
@click.option("-o", "--output", type=_FILE, help="also write the table as CSV")
@click.option("--force", is_flag=True, help="replace a file ipsim wrote")
def calibrate(results: Path, nnc: Path, at: float | None, output: Path | None, force: bool) -> None:
    """Compare each node's requested and allocated addresses in RESULTS with an NNC export."""
    from simulator.results.calibrate import calibrate as compare
    from simulator.results.calibrate import describe_calibration, is_calibration_table
    from simulator.results.folders import check_file_target, write_file
    from simulator.scenario.importer.exports import read_nnc

    if output is not None:
        check_file_target(output, force=force, ours=is_calibration_table)
    table = compare(results, read_nnc(nnc), at)
    click.echo(describe_calibration(table, at))
    if output is not None:
        saved = write_file(
            output,
            lambda path: table.to_csv(path, index=False),
            force=force,
            ours=is_calibration_table,
        )
        click.echo(f"table written to {saved}")
