"""Many runs at once: what one run is (a :class:`RunSpec`), what comes back (an
:class:`Outcome`), and the seeds of replicas.

A spec is plain data (a scenario document, the folder its files are relative to, a
seed), so it travels to worker processes or to a Dask cluster. :func:`run_spec` never
raises: a run that fails comes back as an outcome carrying its error, so one bad
combination does not sink a sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import IpsimError

__all__ = ["Outcome", "RunSpec", "base_seed", "lost", "replica_seeds", "run_seeds", "run_spec"]


def replica_seeds(seed: int, replicas: int) -> list[int]:
    """``replicas`` independent seeds spawned from ``seed`` (numpy ``SeedSequence``)."""
    children = np.random.SeedSequence(seed).spawn(replicas)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> 1) for child in children]


def base_seed(document: dict[str, Any], seed: int | None) -> int:
    """``seed`` if given, else the scenario document's own (0 when it sets none)."""
    return seed if seed is not None else int(document.get("seed", 0) or 0)


def run_seeds(document: dict[str, Any], seed: int | None, replicas: int) -> list[int]:
    """The seeds of a batch: the base seed for a single run, or that many independent
    seeds spawned from it."""
    first = base_seed(document, seed)
    return replica_seeds(first, replicas) if replicas > 1 else [first]


@dataclass(frozen=True)
class RunSpec:
    """One run: the scenario document, its folder, the seed and labels for the tables."""

    document: dict[str, Any]
    seed: int
    base: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    replica: int = 0
    keep_frames: bool = False  # send the subnets and pods frames back too
    keep_result: bool = False  # send the whole Result back
    stop_on_fail: bool = False  # end the run the instant it fails a check (plan)


@dataclass
class Outcome:
    """What came back from one run."""

    params: dict[str, Any]
    replica: int
    seed: int
    summary: dict[str, Any] | None = None
    subnets: pd.DataFrame | None = None
    pods: pd.DataFrame | None = None
    result: Any = None
    error: str | None = None
    lost: bool = False  # never came back: its worker or the cluster went away


def run_spec(spec: RunSpec) -> Outcome:
    """Load and run one spec; errors become the outcome's ``error``."""
    from simulator.runner import run
    from simulator.scenario.loader import load_scenario

    outcome = Outcome(dict(spec.params), spec.replica, spec.seed)
    if "__invalid__" in spec.document:  # a --set that did not fit this combination
        outcome.error = str(spec.document["__invalid__"])
        return outcome
    try:
        scenario = load_scenario(spec.document, base=spec.base)
        result = run(scenario, spec.seed, stop_on_fail=spec.stop_on_fail)
    except IpsimError as exc:
        outcome.error = str(exc)
        return outcome
    except Exception as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
        return outcome
    outcome.summary = result.summary
    if spec.keep_result:
        outcome.result = result
    if spec.keep_frames:
        outcome.subnets = result.subnets
        outcome.pods = result.pods[["pod", "created_s", "scheduled_s", "ip_wait_s", "state"]]
    return outcome


def lost(spec: RunSpec, why: str) -> Outcome:
    """The outcome of a run that never came back (its worker or the cluster went away):
    a failed run like any other, marked ``lost`` so a plan does not take it for a verdict."""
    return Outcome(dict(spec.params), spec.replica, spec.seed, error=f"lost: {why}", lost=True)
