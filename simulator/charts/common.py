"""What every chart shares: a figure for a file or for a notebook, saving it, the time
axis, whole-number ticks for counts, legends beside the data and marks on a time axis.

No backend is chosen at import. A chart written to a file is a plain
:class:`matplotlib.figure.Figure`, drawn without pyplot (no screen, no global state).
A chart without a path is made with pyplot, so Jupyter's inline backend shows it,
exactly once whether it is the cell's value or not.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from simulator.version import VERSION

__all__ = [
    "Chart",
    "colours",
    "counts_axis",
    "finish",
    "is_ipsim_chart",
    "legend_beside",
    "mark_times",
    "new_figure",
    "time_scale",
]


class Chart(Figure):
    """A pyplot figure that a notebook shows once: as the cell's value, or at the end
    of the cell (where the inline backend displays every open figure)."""

    def _ipython_display_(self) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import Image, display

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        display(Image(data=buffer.getvalue()))
        plt.close(self)  # shown: the end of the cell must not show it again


def new_figure(path: str | Path | None, width: float, height: float) -> Figure:
    """A figure for ``path`` (a plain Figure), or for a notebook (pyplot's)."""
    if path is None:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=(width, height), FigureClass=Chart, layout="constrained")
    return Figure(figsize=(width, height), layout="constrained")


#: The text chunk every PNG chart carries: it says ipsim drew it, so that ``--force`` may
#: replace the file (and never a picture ipsim did not draw).
SOFTWARE = f"ipsim {VERSION}"


def finish(fig: Figure, path: str | Path | None) -> Figure:
    """Write the chart to ``path`` (PNG, or SVG by the suffix), marked as ipsim's; return it."""
    if path is not None:
        png = Path(path).suffix.lower() != ".svg"
        fig.savefig(path, dpi=110, metadata={"Software": SOFTWARE} if png else None)
    return fig


def is_ipsim_chart(head: bytes) -> bool:
    """Whether a file's first bytes are a PNG chart that ipsim drew (see :data:`SOFTWARE`)."""
    return head.startswith(b"\x89PNG") and b"Software\x00ipsim " in head


def colours() -> list[str]:
    return matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]


def time_scale(duration: float) -> tuple[float, str]:
    """Divide seconds by this to draw in minutes, or hours for runs over 3 hours."""
    return (3600.0, "h") if duration > 3 * 3600 else (60.0, "min")


def counts_axis(ax: Axes, axis: str = "y") -> None:
    """Ticks at whole numbers, with thousands separators: the axis counts things."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(MaxNLocator(integer=True))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def legend_beside(ax: Axes, **kwargs) -> None:
    """The legend to the right of the axes, never over the data."""
    handles = kwargs.get("handles") or ax.get_legend_handles_labels()[0]
    if handles:
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0.0,
            fontsize=8,
            frameon=False,
            **kwargs,
        )


def mark_times(
    ax: Axes,
    times: Iterable[float],
    *,
    colour: str,
    marker: str,
    label: str,
    line: bool = True,
) -> None:
    """Mark instants on a time axis: a marker on the top edge (above the data) and,
    with ``line``, a thin vertical line."""
    at = np.unique(np.asarray(list(times), dtype=float))
    if not len(at):
        return
    transform = ax.get_xaxis_transform()  # x in data, y in axes fractions
    ax.plot(
        at,
        np.full(len(at), 1.0),
        ls="none",
        marker=marker,
        ms=6,
        color=colour,
        transform=transform,
        clip_on=False,
        label=label,
        zorder=5,
    )
    if line:
        for when in at:
            ax.axvline(when, color=colour, lw=0.7, alpha=0.45, zorder=1)
