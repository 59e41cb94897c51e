"""Workload controllers, one module per kind of ``workloads[]``, found through the table of
workload kinds (:data:`simulator.scenario.workloads.KINDS`, which names each kind's
controller).

Each controller owns its pods and reacts to what happens to them, as the Kubernetes
controllers do; timed changes (ramps, daily profiles, arrivals) are SimPy processes or
timed calls.
"""

from __future__ import annotations

import importlib
from functools import cache

from simulator.model.workloads.base import Controller, PodHost
from simulator.scenario.workloads import KINDS

__all__ = ["Controller", "PodHost", "controller_for"]


@cache
def controller_for(kind: str) -> type[Controller]:
    """The controller class of workload kind ``kind`` (as the table names it)."""
    module, _, name = KINDS[kind].controller.partition(":")
    controller = getattr(importlib.import_module(module), name)
    if not (isinstance(controller, type) and issubclass(controller, Controller)):
        raise TypeError(f"workload kind {kind!r}: {KINDS[kind].controller} is not a Controller")
    return controller
