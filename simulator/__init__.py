"""ipsim: a discrete-event simulator of Kubernetes pod IP allocation on Azure CNI."""

from .errors import IpsimError, OutputExistsError, ScenarioError
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
