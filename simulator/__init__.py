"""ipsim: a discrete-event simulator of Kubernetes pod IP allocation on Azure CNI."""

from simulator.errors import IpsimError, OutputExistsError, ScenarioError
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

__version__ = "0.1.0"
