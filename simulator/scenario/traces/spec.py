"""The keys of a ``kind: trace`` workload: where its pods come from (``source``), where
they run (``placement``) and how closely the replay must follow the trace
(``tolerance``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from simulator.scenario.traces.formats import FORMATS
from simulator.scenario.traces.table import parse_timestamp
from simulator.scenario.types import Duration, NodePoolName, StrictModel

__all__ = [
    "AKS_POOL_PATTERN",
    "ReplayTolerance",
    "TraceColumns",
    "TracePlacement",
    "TraceSource",
    "TraceUnits",
    "TraceWindow",
]

FormatName = Literal[tuple(FORMATS)]  # type: ignore[valid-type]

#: AKS names nodes ``aks-<pool>-<8 digits>-vmss<suffix>``: the pool of a trace's node.
AKS_POOL_PATTERN = r"^aks-(?P<pool>[a-z][a-z0-9]{0,11})-[0-9]+-vmss"


def _origin(value: float | str | None) -> float | str | None:
    if isinstance(value, str) and parse_timestamp(value) is None:
        raise ValueError("must be an ISO 8601 time such as 2024-03-19T23:48:58Z or seconds")
    return value


def _pattern(value: str) -> str:
    import re

    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise ValueError(f"is not a regular expression: {exc}") from None
    if "pool" not in compiled.groupindex:
        raise ValueError("needs a group named pool, such as (?P<pool>[a-z0-9]+)")
    return value


class TraceColumns(StrictModel):
    """The file's column for each field of the pod table (tabular formats; a preset's
    own names are the default)."""

    name: str | None = Field(None, description="pod name (unique)")
    created: str | None = Field(None, description="creation: seconds or ISO 8601")
    scheduled: str | None = Field(None, description="binding to a node (empty: never)")
    deleted: str | None = Field(None, description="deletion (empty: alive at the end)")
    cpu: str | None = Field(None, description="CPU request")
    memory: str | None = Field(None, description="memory request")
    gpu: str | None = Field(None, description="GPUs requested (nvidia.com/gpu)")
    node: str | None = Field(None, description="the node it ran on")
    pool: str | None = Field(None, description="the node pool it ran on")
    group: str | None = Field(None, description="owner or application")
    host_network: str | None = Field(None, description="true: uses the node's address")
    max_per_node: str | None = Field(None, description="pods of its group per node at most")


class TraceUnits(StrictModel):
    """What a plain number means in the CPU, memory and time columns."""

    cpu: Literal["cores", "millicores"] | None = Field(None, description="default cores")
    memory: Literal["bytes", "KiB", "MiB", "GiB"] | None = Field(None, description="default MiB")
    time: Literal["s", "ms"] | None = Field(None, description="default s")


class TraceWindow(StrictModel):
    """The part of the trace to replay, in trace seconds after the origin."""

    start: Duration = Field(0.0, description="pods alive here are there at t = 0")
    end: Duration | None = Field(None, description="pods alive here stay to the end")


class TraceSource(StrictModel):
    """The trace file and how to read it into pods."""

    format: FormatName
    file: str = Field(min_length=1, description="relative to the scenario file")
    columns: TraceColumns = TraceColumns()
    units: TraceUnits = TraceUnits()
    origin: Annotated[float | str | None, AfterValidator(_origin)] = Field(
        None,
        description="trace time of t = 0: seconds, an ISO 8601 time, or null (the trace's start)",
    )
    window: TraceWindow = TraceWindow()
    compress: float = Field(
        1.0, gt=0, le=1_000_000, description="trace seconds per simulated second"
    )
    arrive: Literal["scheduled", "created"] = Field(
        "scheduled", description="a pod enters the cluster when the trace bound it, or created"
    )
    unscheduled: Literal["drop", "replay"] = Field(
        "drop", description="pods the trace never scheduled: dropped (counted) or replayed"
    )
    missing_created: Literal["start", "drop"] = Field(
        "start", description="pods without a creation time: there from the start, or dropped"
    )
    bad_rows: Literal["refuse", "drop"] = Field(
        "refuse", description="a malformed row: refuse the file, or drop the row (counted)"
    )


class TracePlacement(StrictModel):
    """Where the trace's pods run."""

    nodes: Literal["trace", "scheduler"] = Field(
        "trace", description="run a pod on the node the trace names, or let the scheduler pick"
    )
    node_list: dict[str, NodePoolName] | None = Field(
        None, description="the node pool of each trace node (wins over pool_pattern)"
    )
    pool_pattern: Annotated[str, AfterValidator(_pattern)] = Field(
        AKS_POOL_PATTERN, description="regular expression whose group 'pool' is a node's pool"
    )
    groups: dict[str, list[NodePoolName]] | None = Field(
        None, description="the node pools of each trace group (scheduled pods)"
    )
    max_per_node: int | None = Field(
        None, ge=1, le=250, description="pods of one group per node at most"
    )


class ReplayTolerance(StrictModel):
    """How far the replay may stray from the trace before its check fails."""

    alive: int = Field(0, ge=0, description="bound pods more or fewer than the trace's alive")
    lag: Duration = Field(0.0, description="a pod bound this much later than in the trace")
