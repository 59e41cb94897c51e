"""``ipsim import``: a scenario from what a user exports of a running AKS cluster.

:mod:`.exports` reads the exports (``az aks show``, ``az aks nodepool list``,
``az network vnet show``, ``az network vnet list-usage``, ``kubectl get nnc``),
:mod:`.build` makes the scenario document and :mod:`.text` writes it as commented YAML.
Like the trace readers this is input parsing, in the scenario layer because its output
is a scenario: the command validates it with the loader before writing it.
"""

from __future__ import annotations

from pathlib import Path

from simulator.errors import InputError
from simulator.scenario.importer.build import Imported, build_scenario
from simulator.scenario.importer.exports import (
    read_cluster,
    read_nnc,
    read_node_pools,
    read_usage,
    read_vnet,
)
from simulator.scenario.importer.text import commented_yaml

__all__ = [
    "HEADER",
    "Imported",
    "build_scenario",
    "commented_yaml",
    "import_files",
    "is_imported_scenario",
]

#: The first comment lines of an imported scenario; the first also marks it as ipsim's.
HEADER = [
    "Written by ipsim import from the exports named in the description. Check what it",
    "could not know: system pods per node, the workloads, and the timeline.",
]


def is_imported_scenario(head: bytes) -> bool:
    """Whether a file's first bytes are a scenario ``ipsim import`` wrote (its header
    comment), so that ``--force`` may replace it."""
    return head.startswith(b"# Written by ipsim import")


def import_files(
    clusters: list[Path],
    node_pools: list[Path],
    vnets: list[Path],
    *,
    usage: list[Path] | None = None,
    nnc: Path | None = None,
    name: str | None = None,
) -> Imported:
    """The scenario of the exported files: ``clusters[i]`` pairs with ``node_pools[i]``
    (none at all: each cluster's own pool profiles)."""
    if node_pools and len(node_pools) != len(clusters):
        raise InputError(
            f"{len(clusters)} --cluster files but {len(node_pools)} --node-pools files: give "
            "one node pool list per cluster, in the same order"
        )
    pairs = []
    for i, file in enumerate(clusters):
        pools = read_node_pools(node_pools[i]) if node_pools else None
        pairs.append((read_cluster(file), pools, node_pools[i].name if node_pools else ""))
    records = {}
    for file in usage or []:
        records.update(read_usage(file))
    return build_scenario(
        pairs,
        [read_vnet(file) for file in vnets],
        usage=records if usage else None,
        nnc=read_nnc(nnc) if nnc is not None else None,
        nnc_source=nnc.name if nnc is not None else "",
        name=name,
        sources=[f.name for f in [*clusters, *node_pools, *vnets, *(usage or [])]]
        + ([nnc.name] if nnc is not None else []),
    )
