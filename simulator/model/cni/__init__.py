"""CNI modes: one strategy per way of giving pods addresses, looked up by name."""

from __future__ import annotations

from simulator.model.cni.base import CniMode
from simulator.model.cni.dynamic import DynamicCni
from simulator.model.cni.traditional import TraditionalCni
from simulator.model.context import ModelContext

__all__ = ["MODES", "CniMode", "DynamicCni", "ModelContext", "TraditionalCni", "mode_for"]

#: Every CNI mode by the name used in scenario files (``clusters[].cni``).
MODES: dict[str, type[CniMode]] = {
    TraditionalCni.name: TraditionalCni,
    DynamicCni.name: DynamicCni,
}


def mode_for(name: str) -> type[CniMode]:
    """The CNI mode class for ``name``."""
    return MODES[name]
