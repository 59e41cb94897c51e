"""ipsim: a discrete-event simulator of Kubernetes pod IP allocation on Azure CNI."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from simulator.errors import IpsimError, OutputExistsError, ScenarioError
from simulator.version import VERSION

if TYPE_CHECKING:
    from simulator.results.result import Result
    from simulator.runner import run
    from simulator.scenario.loader import load_scenario
    from simulator.scenario.models import Scenario

__all__ = [
    "IpsimError",
    "OutputExistsError",
    "Result",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "run",
]

__version__ = VERSION

#: Names loaded on first use: the command line's entry point imports this package before
#: it can catch Ctrl-C, so importing it must not load pandas and pydantic.
_LAZY = {
    "load_scenario": "scenario.loader",
    "Result": "results.result",
    "run": "runner",
    "Scenario": "scenario.models",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
