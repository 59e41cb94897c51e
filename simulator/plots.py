"""Charts drawn from a results folder on disk (``ipsim plot``)."""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from .charts import plot_nnc
from .errors import OutputExistsError
from .metrics import MetricsError

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
    if target.exists() and not force:
        raise OutputExistsError(f"{target}: exists already; use --force to replace it")
    for name in ("nnc.csv", "summary.json"):
        if not (folder / name).is_file():
            raise MetricsError(f"{folder}: not a results folder ({name} is missing)")
    nnc = pd.read_csv(folder / "nnc.csv")
    rows = nnc[nnc["node"] == node]
    if rows.empty:
        names = list(dict.fromkeys(nnc["node"]))
        close = difflib.get_close_matches(node, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; {len(names)} nodes in nnc.csv"
        raise MetricsError(f"{folder}: --node: no node named {node!r}{hint}")
    duration = float(json.loads((folder / "summary.json").read_text())["duration_s"])
    end = duration
    if (folder / "nodes.csv").is_file():
        nodes = pd.read_csv(folder / "nodes.csv").set_index("node")
        if node in nodes.index and pd.notna(nodes.at[node, "deleted_s"]):
            end = float(nodes.at[node, "deleted_s"])  # the pool ends with the node
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".png", dir=target.parent)
    os.close(handle)
    try:
        plot_nnc(rows, node, duration, staging, end=end)
        os.chmod(staging, 0o644)
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return target
