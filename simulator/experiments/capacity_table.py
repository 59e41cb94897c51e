"""``ipsim chart capacity``: what each subnet prefix holds per mode, as a table and chart."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from simulator.core.addressing import usable_addresses
from simulator.core.capacity import largest_fit, limiting_space
from simulator.core.modes import MODES
from simulator.results.folders import write_folder

__all__ = ["capacity_table", "save_capacity"]


def capacity_table(
    max_pods: int, pods_per_node: int, prefixes: Iterable[int], *, pod_cidr_prefix: int = 16
) -> pd.DataFrame:
    """One row per mode and prefix: usable addresses, largest node and pod counts of one
    cluster, in the VNet subnet that limits the mode (the node subnet for traditional,
    Overlay and kubenet, the pod subnet for the others: their node subnet needs only 1
    address per node), and what limits them (that subnet, a pod CIDR of
    ``pod_cidr_prefix``, or the mode's nodes per cluster)."""
    rows = []
    prefixes = list(prefixes)
    for mode in MODES:
        for prefix in prefixes:
            nodes, pods, limit = largest_fit(
                mode, prefix, max_pods, pods_per_node, pod_cidr_prefix=pod_cidr_prefix
            )
            rows.append(
                {
                    "mode": mode,
                    "prefix": prefix,
                    "subnet": limiting_space(mode).value,
                    "usable": usable_addresses(prefix),
                    "nodes": nodes,
                    "pods": pods,
                    "limit": limit,
                }
            )
    return pd.DataFrame(rows)


def save_capacity(
    table: pd.DataFrame,
    max_pods: int,
    pods_per_node: int,
    directory: str | os.PathLike[str],
    *,
    force: bool = False,
    pod_cidr_prefix: int = 16,
) -> Path:
    from simulator.charts.planning import plot_capacity

    def fill(folder: Path) -> None:
        table.to_csv(folder / "capacity.csv", index=False)
        plot_capacity(
            table,
            f"pods per subnet prefix (max pods {max_pods}, {pods_per_node} pods per node; "
            f"pod CIDR /{pod_cidr_prefix})",
            folder / "capacity.png",
        )

    return write_folder(directory, fill, force=force)
