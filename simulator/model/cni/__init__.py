"""CNI modes in the model: one strategy per way of giving pods addresses, found through the
table of CNI modes (:data:`simulator.core.modes.MODES`, which names each mode's strategy)."""

from __future__ import annotations

import importlib
from functools import cache

from simulator.core.modes import mode_spec
from simulator.model.cni.base import CniMode

__all__ = ["CniMode", "strategy_for"]


@cache
def strategy_for(name: str) -> type[CniMode]:
    """The strategy class that simulates CNI mode ``name``."""
    spec = mode_spec(name)
    if spec.strategy is None:
        raise KeyError(f"CNI mode {name!r} has formulas only; it is not simulated")
    module, _, attr = spec.strategy.partition(":")
    strategy = getattr(importlib.import_module(module), attr)
    if not (isinstance(strategy, type) and issubclass(strategy, CniMode)):
        raise TypeError(f"CNI mode {name!r}: {spec.strategy} is not a CniMode")
    return strategy
