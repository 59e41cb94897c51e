"""The sample grid of a run's tables and the output budget that bounds it.

``subnets.csv`` has a row per used subnet and grid time, ``holders.csv`` a row per
holder (a ``cluster/node pool``, or a subnet's reserved addresses) and grid time. Their
rows together stay within :data:`ROW_BUDGET`: when the scenario's ``sample_every`` would
give more, the grid steps by the smallest whole multiple of it that fits.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ROW_BUDGET", "coarsest_fits", "grid_points", "grid_step", "sample_grid"]

#: Rows on the sample grid a run writes at most, ``subnets.csv`` and ``holders.csv``
#: together (about 0.4 GB in memory and 0.1 GB of CSV at the most).
ROW_BUDGET = 1_000_000

# Grid times within this share of a step before the end are dropped for the end itself.
_SLACK = 1e-9


def sample_grid(end: float, step: float) -> np.ndarray:
    """0, step, 2 × step, … strictly before ``end`` (with float slack), then ``end``."""
    count = math.ceil(end / step - _SLACK)
    grid = np.arange(count, dtype=float) * step
    return np.append(grid[grid < end - step * _SLACK], end)


def grid_points(end: float, step: float) -> int:
    """How many times :func:`sample_grid` has, without building it."""
    return max(math.ceil(end / step - _SLACK), 0) + 1


def coarsest_fits(series: int, budget: int | None = None) -> bool:
    """Whether ``series`` rows per grid time fit ``budget`` (default
    :data:`ROW_BUDGET`) on the coarsest grid: the start and the end."""
    return series * 2 <= (ROW_BUDGET if budget is None else budget)


def grid_step(end: float, every: float, series: int, budget: int | None = None) -> float | None:
    """The grid step for ``series`` rows per grid time over [0, ``end``]: ``every``
    if its grid fits ``budget`` rows (default :data:`ROW_BUDGET`), else the smallest
    whole multiple of ``every`` whose grid does; None if not even the start and the end
    fit."""
    budget = ROW_BUDGET if budget is None else budget
    if series <= 0 or series * grid_points(end, every) <= budget:
        return every
    if not coarsest_fits(series, budget):
        return None
    most = budget // series  # grid times at most, the end included: at least 2
    # The grid has ceil(end / step) + 1 times: the least whole factor giving most - 1
    # steps, then upwards while float rounding leaves it one time over.
    factor = max(math.ceil(end / (every * (most - 1))), 1)
    while series * grid_points(end, every * factor) > budget:
        factor += 1
    return every * factor
