"""Workloads of a scenario and the table of workload kinds.

A kind is one entry of :data:`KINDS`: the keys of ``workloads[]`` it takes, its own
rules (checked with the scenario's other cross-field rules) and the model's controller
that runs it, named by import path (the scenario layer imports no SimPy). Adding a kind
is one entry here, its keys on :class:`Workload`, and one controller module in
``simulator/model/workloads/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from simulator.core.units import format_duration
from simulator.errors import InputError, ScenarioError
from simulator.scenario.files import check_data_file, read_lifetimes
from simulator.scenario.traces import FORMATS, Cluster, replay_plan
from simulator.scenario.traces.spec import (
    ReplayTolerance,
    TraceColumns,
    TracePlacement,
    TraceSource,
    TraceUnits,
)
from simulator.scenario.types import (
    MAX_REPLICAS,
    Duration,
    Rate,
    Resources,
    StrictModel,
    WorkloadName,
)

__all__ = [
    "KINDS",
    "KIND_KEYS",
    "DailyPoint",
    "Lifetime",
    "Ramp",
    "Workload",
    "WorkloadKind",
]


class Ramp(StrictModel):
    """Replicas move linearly from ``from`` to ``to`` over ``over``, starting at ``at``."""

    model_config = ConfigDict(populate_by_name=True)

    start: int = Field(alias="from", ge=0, le=MAX_REPLICAS)
    to: int = Field(ge=0, le=MAX_REPLICAS)
    over: Duration = Field(gt=0)
    at: Duration = 0.0


class DailyPoint(StrictModel):
    """From ``at`` (time of day) on, every day, run ``replicas``."""

    at: Duration = Field(
        lt=86400.0, description="time of day as a duration from midnight, e.g. 8h or 1050m (17:30)"
    )
    replicas: int = Field(ge=0, le=MAX_REPLICAS)


class FixedLifetime(StrictModel):
    distribution: Literal["fixed"]
    value: Duration = Field(gt=0)


class ExponentialLifetime(StrictModel):
    distribution: Literal["exponential"]
    mean: Duration = Field(gt=0)


class LognormalLifetime(StrictModel):
    distribution: Literal["lognormal"]
    median: Duration = Field(gt=0, description="exp(mu)")
    sigma: float = Field(gt=0, le=10, description="standard deviation of the log")


class EmpiricalLifetime(StrictModel):
    distribution: Literal["empirical"]
    file: str = Field(min_length=1, description="CSV file, relative to the scenario file")
    column: str = Field(min_length=1, description="column of durations in seconds")


Lifetime = Annotated[
    FixedLifetime | ExponentialLifetime | LognormalLifetime | EmpiricalLifetime,
    Field(discriminator="distribution"),
]


@dataclass(frozen=True)
class WorkloadKind:
    """One kind of workload, as the scenario and the model know it."""

    name: str  # ``workloads[].kind``
    keys: frozenset[str]  # kind-specific keys of ``workloads[]`` it takes
    #: Its own rules: called with the workload, its field path, the scenario's folder
    #: and its (resolved) cluster; raises :class:`ScenarioError` or returns the keys to
    #: fill in.
    resolve: Callable[[Workload, str, Path, Cluster], dict[str, Any]]
    controller: str  # ``module:Class`` of the model's controller that runs it
    #: A workload of this kind at its smallest, as its keys besides name and cluster
    #: (for the docs and the contract test that runs every kind under every mode).
    example: dict[str, Any]
    pools_key: str = "node_pool"  # the key naming the node pools its pods run on
    scalable: bool = False  # ``scale_workload`` and ``rollout_workload`` apply to it
    #: Files its example names, by name and content (written next to the scenario).
    files: dict[str, str] = field(default_factory=dict)


def _resolve_deployment(w: Workload, path: str, base: Path, cluster: Cluster) -> dict[str, Any]:
    if w.ramp is not None and w.daily is not None:
        raise ScenarioError(
            "a deployment takes either ramp or daily, not both", path=f"{path}.daily"
        )
    if w.daily is not None:
        times = [p.at for p in w.daily]
        if times != sorted(set(times)):
            raise ScenarioError(
                "entries must be in increasing time of day, each time once", path=f"{path}.daily"
            )
    if w.replicas is None:
        return {"replicas": w.ramp.start if w.ramp is not None else 1}
    return {}


def _resolve_job(w: Workload, path: str, base: Path, cluster: Cluster) -> dict[str, Any]:
    if w.rate is None or w.lifetime is None:
        missing = "rate" if w.rate is None else "lifetime"
        raise ScenarioError(
            "a job needs a rate (Poisson arrivals) and a lifetime", path=f"{path}.{missing}"
        )
    if w.stop is not None and w.stop <= w.start:
        raise ScenarioError(
            f"must be after start ({format_duration(w.start)})",
            path=f"{path}.stop",
            value=format_duration(w.stop),
        )
    if w.lifetime.distribution == "empirical":
        # The path stays relative: the scenario remembers its folder.
        target = check_data_file(w.lifetime.file, base, f"{path}.lifetime.file")
        read_lifetimes(target, w.lifetime.column, f"{path}.lifetime")
    return {}


def _no_rules(w: Workload, path: str, base: Path, cluster: Cluster) -> dict[str, Any]:
    return {}


def _resolve_trace(w: Workload, path: str, base: Path, cluster: Cluster) -> dict[str, Any]:
    source = w.source
    if source is None:
        raise ScenarioError("a trace needs a source: {format, file}", path=f"{path}.source")
    if not FORMATS[source.format].tabular:
        for key, empty in (("columns", TraceColumns()), ("units", TraceUnits())):
            if getattr(source, key) != empty:
                tabular = ", ".join(f for f, spec in FORMATS.items() if spec.tabular)
                raise ScenarioError(
                    f"applies to the tabular formats ({tabular}), not {source.format}",
                    path=f"{path}.source.{key}",
                )
    window = source.window
    if window.end is not None and window.end <= window.start:
        raise ScenarioError(
            f"must be after the window's start ({format_duration(window.start)})",
            path=f"{path}.source.window.end",
            value=format_duration(window.end),
        )
    update: dict[str, Any] = {}
    if w.placement is None:
        update["placement"] = TracePlacement()
    if w.tolerance is None:
        update["tolerance"] = ReplayTolerance()
    target = check_data_file(source.file, base, f"{path}.source.file")
    try:
        # Read and placed now, so that a scenario that loads is one that replays; the
        # model asks again and gets the same plan back (read once per file version).
        replay_plan(w.model_copy(update=update), target, cluster, path)
    except InputError as exc:
        raise ScenarioError(str(exc), path=f"{path}.source") from None
    return update


#: Every workload kind by the name scenario files use.
KINDS: dict[str, WorkloadKind] = {
    kind.name: kind
    for kind in (
        WorkloadKind(
            "deployment",
            frozenset({"replicas", "ramp", "daily", "node_pool"}),
            _resolve_deployment,
            "simulator.model.workloads.deployment:DeploymentController",
            {"replicas": 10},
            scalable=True,
        ),
        WorkloadKind(
            "job",
            frozenset({"rate", "lifetime", "start", "stop", "node_pool"}),
            _resolve_job,
            "simulator.model.workloads.job:JobController",
            {"rate": "30/min", "lifetime": {"distribution": "fixed", "value": "90s"}},
        ),
        WorkloadKind(
            "daemonset",
            frozenset({"node_pools"}),
            _no_rules,
            "simulator.model.workloads.daemonset:DaemonSetController",
            {},
            pools_key="node_pools",
        ),
        WorkloadKind(
            "trace",
            frozenset({"source", "placement", "tolerance", "node_pools"}),
            _resolve_trace,
            "simulator.model.workloads.trace:TraceController",
            {"source": {"format": "pod-csv", "file": "trace-example.csv"}},
            pools_key="node_pools",
            files={
                "trace-example.csv": "name,created,deleted,cpu,memory\n"
                "web-1,0,300,250m,256Mi\nweb-2,0,,250m,256Mi\nweb-3,60,420,0.5,512Mi\n"
                "batch-1,120,180,1,1Gi\n"
            },
        ),
    )
}

#: Keys of ``workloads[]`` that some kinds take and others refuse.
KIND_KEYS = frozenset().union(*(kind.keys for kind in KINDS.values()))

KindName = Literal[tuple(KINDS)]  # type: ignore[valid-type]


class Workload(StrictModel):
    """Pods of one kind: a Deployment, Poisson-arriving batch Jobs, a DaemonSet, or the
    pods of a trace."""

    name: WorkloadName
    kind: KindName = "deployment"
    cluster: str
    node_pool: str | None = Field(None, description="default: any node pool of the cluster")
    replicas: int | None = Field(
        None, ge=0, le=MAX_REPLICAS, description="deployment: pods at t = 0 (default 1)"
    )
    ramp: Ramp | None = Field(None, description="deployment: a linear replica ramp")
    daily: list[DailyPoint] | None = Field(
        None, min_length=1, description="deployment: replicas by time of day, every day"
    )
    rate: Rate | None = Field(None, description="job: pod arrivals (Poisson)")
    lifetime: Lifetime | None = Field(None, description="job: run time of each pod")
    start: Duration = Field(0.0, description="job: first arrivals from this time")
    stop: Duration | None = Field(None, description="job: no arrivals from this time")
    node_pools: list[str] | None = Field(
        None, description="daemonset, trace: pools whose nodes run it (default: all)"
    )
    source: TraceSource | None = Field(None, description="trace: the file and how to read it")
    placement: TracePlacement | None = Field(None, description="trace: where its pods run")
    tolerance: ReplayTolerance | None = Field(
        None, description="trace: how far the replay may stray before its check fails"
    )
    host_network: bool = Field(False, description="pods use the node's IP, not a pod IP")
    requests: Resources | None = Field(None, description="CPU and memory each pod requests")
    termination_grace: Duration = Field(
        30.0, description="a deleted pod keeps its address this long before it is released"
    )
