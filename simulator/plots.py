"""Charts drawn from a results folder on disk (``ipsim plot``)."""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import matplotlib.pyplot as plt

from . import __version__
from .charts import plot_nnc
from .folders import check_file_target, write_file
from .metrics import MetricsError, read_results

__all__ = ["default_output", "is_ipsim_chart", "plot_node"]

#: The PNG text chunk that says ipsim drew a chart, so that --force may replace it.
_SOFTWARE = f"ipsim {__version__}"


def is_ipsim_chart(head: bytes) -> bool:
    """Whether a PNG file's first bytes carry the mark :func:`plot_node` writes."""
    return head.startswith(b"\x89PNG") and b"Software\x00ipsim " in head


def default_output(folder: str | os.PathLike[str], node: str) -> Path:
    """``FOLDER/nnc-NODE.png``, with NODE made a plain file name: a node name read from
    data never puts the chart outside the folder (no separator, no ``..`` of its own)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", node)[:100] or "_"
    return Path(folder) / f"nnc-{safe}.png"


def plot_node(
    folder: str | os.PathLike[str],
    node: str,
    output: str | os.PathLike[str],
    *,
    force: bool = False,
) -> Path:
    """Draw ``node``'s pool from the folder's nnc.csv into ``output`` (PNG, atomically)."""
    folder, target = Path(folder), Path(output)
    check_file_target(target, force=force, ours=is_ipsim_chart)
    results = read_results(folder, nodes_optional=True)
    nnc = results.nnc
    rows = nnc[nnc["node"] == node]
    if rows.empty:
        names = list(dict.fromkeys(nnc["node"]))
        close = difflib.get_close_matches(node, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; {len(names)} nodes in nnc.csv"
        raise MetricsError(f"{folder}: --node: no node named {node!r}{hint}")
    duration = results.duration
    end = results.deleted.get(node, duration)  # the pool ends with the node

    def draw(staging: Path) -> None:
        figure = plot_nnc(rows, node, duration, end=end)
        try:
            # The resolution charts.py saves with; the text chunk marks the chart ipsim's.
            figure.savefig(staging, dpi=110, metadata={"Software": _SOFTWARE})
        finally:
            plt.close(figure)

    return write_file(target, draw, force=force, ours=is_ipsim_chart)
