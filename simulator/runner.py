"""``run(scenario, seed)``: one simulation from a scenario to a :class:`Result`."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from simulator.model.world import World
from simulator.results.result import Result, build_result
from simulator.scenario.loader import load_scenario
from simulator.scenario.models import Scenario

__all__ = ["run"]


def run(
    scenario: Scenario | dict[str, Any] | str | os.PathLike[str],
    seed: int | None = None,
    *,
    progress: Callable[[float], None] | None = None,
    literal_tick: bool = False,
    literal_retry: bool = False,
    literal_schedule: bool = False,
    stop_on_fail: bool = False,
) -> Result:
    """Simulate ``scenario`` (a model, a mapping or a file path) and return its result.

    ``seed`` overrides the scenario's seed. ``progress`` is called with the simulated
    time as the run advances. ``literal_tick`` runs the node agent's 1 s ticker literally
    instead of event-driven (slower; the outputs are the same); ``literal_retry`` retries
    every pod waiting for an address at each kubelet retry instant, and
    ``literal_schedule`` has every scheduling pass walk every pending pod, instead of
    acting on what changed (slower still; the outputs are the same). ``stop_on_fail`` ends
    the run at the instant it fails one of its checks (its verdict is then FAIL and its
    records end there: ``summary["stopped_at_s"]``).
    """
    resolved = load_scenario(scenario)
    used_seed = resolved.seed if seed is None else seed
    if used_seed != resolved.seed:
        resolved = resolved.model_copy(update={"seed": used_seed})
    world = World(
        resolved,
        used_seed,
        literal_tick=literal_tick,
        literal_retry=literal_retry,
        literal_schedule=literal_schedule,
        stop_on_fail=stop_on_fail,
    )
    world.run(progress)
    return build_result(world)
