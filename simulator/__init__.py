"""ipsim: a discrete-event simulator of Kubernetes pod IP allocation on Azure CNI."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import IpsimError, OutputExistsError, ScenarioError

if TYPE_CHECKING:
    from .loader import load_scenario
    from .results import Result
    from .runner import run
    from .scenario import Scenario

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

__version__ = "0.1.0"

#: Names loaded on first use: the command line's entry point imports this package before
#: it can catch Ctrl-C, so importing it must not load pandas and pydantic.
_LAZY = {"load_scenario": "loader", "Result": "results", "run": "runner", "Scenario": "scenario"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
