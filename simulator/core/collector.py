"""Pausing Python's cyclic garbage collector while many long-lived objects are made."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a run, for building its frames or
    for validating a scenario.

    A run's objects (pods, records, events) and a scenario's models live until the end
    and hold few reference cycles; the collector's full passes over millions of them
    cost more than they free and make the cost grow faster than the size. Plain
    reference counting still frees everything that is dropped."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            # Everything allocated meanwhile is still in the youngest generation: enabling
            # the collector as is would make its next pass walk all of it at once. Move it
            # to the oldest generation instead (freeze, then unfreeze): it is walked only
            # by a later full collection, if one comes before it is freed.
            if gc.get_freeze_count() == 0:  # leave anyone else's frozen objects be
                gc.freeze()
                gc.unfreeze()
            gc.enable()
