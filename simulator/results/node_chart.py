"""Charts drawn from a results folder on disk (``ipsim plot``)."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pandas as pd

from simulator.charts.run import plot_nnc
from simulator.results.folders import check_file_target, write_file
from simulator.results.metrics import MetricsError, results_file

__all__ = ["plot_node"]


def plot_node(
    folder: str | os.PathLike[str],
    node: str,
    output: str | os.PathLike[str],
    *,
    force: bool = False,
) -> Path:
    """Draw ``node``'s pool from the folder's nnc.csv into ``output`` (PNG, atomically)."""
    folder, target = Path(folder), Path(output)
    check_file_target(target, force=force)
    nnc = pd.read_csv(results_file(folder, "nnc.csv"))
    rows = nnc[nnc["node"] == node]
    if rows.empty:
        names = list(dict.fromkeys(nnc["node"]))
        close = difflib.get_close_matches(node, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; {len(names)} nodes in nnc.csv"
        raise MetricsError(f"{folder}: --node: no node named {node!r}{hint}")
    duration = float(json.loads(results_file(folder, "summary.json").read_text())["duration_s"])
    end = duration
    if (folder / "nodes.csv").is_file():
        nodes = pd.read_csv(folder / "nodes.csv").set_index("node")
        if node in nodes.index and pd.notna(nodes.at[node, "deleted_s"]):
            end = float(nodes.at[node, "deleted_s"])  # the pool ends with the node
    return write_file(
        target, lambda staging: plot_nnc(rows, node, duration, staging, end=end), force=force
    )
