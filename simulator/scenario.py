"""Scenario files, format version 1: typed, validated, with every default documented.

The models below are the single description of a scenario: they validate input, fill
defaults, print the JSON Schema (``ipsim schema``) and serialise the resolved scenario
written next to every result. Cross-field rules (addresses, references) live in
:mod:`simulator.scenario_rules`; :func:`load_scenario` applies both.
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    WithJsonSchema,
)

from .units import format_duration, parse_duration

__all__ = [
    "TIMELINE_ACTIONS",
    "Autoscaler",
    "AutoscalerProfile",
    "Cidr",
    "Cluster",
    "DailyPoint",
    "Duration",
    "Exhaustion",
    "Ipam",
    "Lifetime",
    "Network",
    "NodePool",
    "Ramp",
    "Resources",
    "RolloutWorkload",
    "ScaleNodePool",
    "ScaleWorkload",
    "Scenario",
    "Subnet",
    "TimelineEvent",
    "Timings",
    "UpgradeNodePool",
    "VNet",
    "Workload",
]

#: AKS limits used to refuse absurd sizes before any memory is spent.
MAX_NODES_PER_POOL = 1000
MAX_REPLICAS = 200_000


def _duration(value: Any) -> float:
    return parse_duration(value)


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*([0-9]+(\.[0-9]+)?|\.[0-9]+)\s*[smhd]?\s*$"},
            ],
            "description": "Duration: a number of seconds or a string with s, m, h or d suffix.",
        }
    ),
]


def _cidr(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be an IPv4 CIDR such as 10.240.0.0/16")
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError("must be an IPv4 CIDR such as 10.240.0.0/16") from None
    if network.version != 4:
        raise ValueError("must be an IPv4 CIDR such as 10.240.0.0/16 (IPv6 is not modelled)")
    if "/" not in value:
        raise ValueError("must give a prefix length, such as 10.240.0.0/16")
    if network.network_address != ipaddress.ip_interface(value.strip()).ip:
        raise ValueError(f"has host bits set; the network address is {network}")
    return str(network)


Cidr = Annotated[
    str,
    BeforeValidator(_cidr),
    WithJsonSchema({"type": "string", "description": "IPv4 CIDR, e.g. 10.240.0.0/16"}),
]


def _count_or_percent(value: Any) -> int | str:
    if isinstance(value, bool):
        raise ValueError("must be a count such as 2 or a percentage such as 25%")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must not be negative")
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+(\.[0-9]+)?\s*%\s*", value):
        if float(value.strip().rstrip("%")) > 100:
            raise ValueError("a percentage must be at most 100%")
        return value.strip().replace(" ", "")
    raise ValueError("must be a count such as 2 or a percentage such as 25%")


#: A whole number of pods or nodes, or a percentage of a total (``25%``).
CountOrPercent = Annotated[
    int | str,
    BeforeValidator(_count_or_percent),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?%$"},
            ]
        }
    ),
]


def _rate(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a rate such as 2/s, 30/min, 100/h or a number per second")
    if isinstance(value, int | float):
        per_second = float(value)
    elif isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*/\s*(s|min|h)\s*", value)
        if not match:
            raise ValueError("must be a rate such as 2/s, 30/min, 100/h or a number per second")
        per_second = float(match.group(1)) / {"s": 1.0, "min": 60.0, "h": 3600.0}[match.group(2)]
    else:
        raise ValueError("must be a rate such as 2/s, 30/min, 100/h or a number per second")
    if not math.isfinite(per_second):
        raise ValueError("must be finite: a rate such as 2/s, 30/min or 100/h")
    if per_second <= 0:
        raise ValueError("must be a positive rate")
    return per_second


#: Arrivals per second, written as ``2/s``, ``30/min``, ``100/h`` or a number per second.
Rate = Annotated[
    float,
    BeforeValidator(_rate),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {
                    "type": "string",
                    "pattern": r"^\s*([0-9]+(\.[0-9]+)?|\.[0-9]+)\s*/\s*(s|min|h)\s*$",
                },
            ],
            "description": "Arrivals: 2/s, 30/min, 100/h or a number per second.",
        }
    ),
]


def _cpu(value: Any) -> int:
    """CPU in millicores from ``250m``, ``0.5`` or ``2``."""
    if isinstance(value, bool):
        raise ValueError("must be CPU such as 250m, 0.5 or 2")
    if isinstance(value, int | float):
        milli = float(value) * 1000
    elif isinstance(value, str) and re.fullmatch(r"\s*[0-9]+m\s*", value):
        milli = float(value.strip()[:-1])
    elif isinstance(value, str) and re.fullmatch(r"\s*([0-9]+(\.[0-9]+)?|\.[0-9]+)\s*", value):
        milli = float(value) * 1000
    else:
        raise ValueError("must be CPU such as 250m, 0.5 or 2")
    if not math.isfinite(milli):
        raise ValueError("must be finite: CPU such as 250m, 0.5 or 2")
    if milli < 0 or milli > 10_000_000:
        raise ValueError("must be CPU between 0 and 10000 cores")
    return round(milli)


_MEMORY_UNITS = {"Ki": 1 / 1024, "Mi": 1.0, "Gi": 1024.0, "Ti": 1024.0**2,
                 "K": 1000 / 1024**2, "M": 1000**2 / 1024**2, "G": 1000**3 / 1024**2}  # fmt: skip


def _memory(value: Any) -> int:
    """Memory in MiB from ``512Mi``, ``2Gi``, ``1G`` (Kubernetes suffixes)."""
    match = (
        re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(Ki|Mi|Gi|Ti|K|M|G)\s*", value)
        if isinstance(value, str)
        else None
    )
    if not match:
        raise ValueError("must be memory with a unit such as 512Mi, 2Gi or 1G")
    mib = float(match.group(1)) * _MEMORY_UNITS[match.group(2)]
    if not math.isfinite(mib) or mib > 1024**3:
        raise ValueError("must be memory below 1 PiB")
    return round(mib)


CpuMillis = Annotated[
    int,
    BeforeValidator(_cpu),
    PlainSerializer(lambda m: f"{m}m", return_type=str, when_used="json"),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}]}),
]
MemoryMiB = Annotated[
    int,
    BeforeValidator(_memory),
    PlainSerializer(lambda m: f"{m}Mi", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "description": "memory such as 512Mi or 2Gi"}),
]

ResourceName = Annotated[
    str,
    Field(pattern=r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$"),
]
ClusterName = Annotated[str, Field(pattern=r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")]
# AKS node pool names: lowercase letters and digits, starting with a letter, at most 12.
NodePoolName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,11}$")]
# Kubernetes object names (DNS-1123 label).
WorkloadName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]


class _Model(BaseModel):
    # Strict: YAML already types values, so "true" must not pass for a count. No NaN or
    # infinity in any number: .nan and .inf are refused as "must be a finite number".
    model_config = ConfigDict(
        extra="forbid", validate_default=True, frozen=True, strict=True, allow_inf_nan=False
    )


class Subnet(_Model):
    """One subnet of a VNet."""

    name: ResourceName
    cidr: Cidr


class VNet(_Model):
    """A virtual network: its address space and subnets."""

    name: ResourceName
    address_space: list[Cidr] = Field(min_length=1)
    subnets: list[Subnet] = Field(min_length=1)


class Exhaustion(_Model):
    """Subnet exhaustion as the control plane computes it (reference §7).

    The control plane polls each pod subnet's usage: above ``upper_percent`` of the
    usable addresses it marks the subnet exhausted, below ``lower_percent`` it clears the
    mark. The real thresholds and poll interval are not public; see docs/model.md."""

    enabled: bool = Field(True, description="compute the exhausted flag at all")
    upper_percent: float = Field(
        90.0, gt=0, le=100, description="mark exhausted when allocated/usable rises above this"
    )
    lower_percent: float = Field(
        70.0, ge=0, lt=100, description="clear the mark when allocated/usable falls below this"
    )
    poll_interval: Duration = Field(
        10.0, ge=0.1, description="how often the control plane checks subnet usage"
    )


class Network(_Model):
    """The VNets of the scenario and the control plane's view of their subnets."""

    vnets: list[VNet] = Field(min_length=1)
    exhaustion: Exhaustion = Exhaustion()


class Ipam(_Model):
    """Dynamic allocation: the scaler CNS reads from the NNC (reference §5) and the
    control plane's fulfilment policy. CNS clamps these values as described in §5."""

    batch_size: int = Field(16, ge=1, le=250, description="IPs per batch (B)")
    request_threshold_percent: int = Field(
        50, ge=1, le=100, description="scale up when fewer than B·this% requested IPs are free"
    )
    release_threshold_percent: int = Field(
        150, ge=1, le=1000, description="scale down when B·this% IPs are free (≥ request% + 100)"
    )
    pool_monitor: Literal["v1", "v2"] = Field(
        "v1",
        description="CNS pool monitor: v1 (batch steps, the default) or v2 (demand based)",
    )
    partial_fulfilment: bool = Field(
        False,
        description="control plane fills part of a request when the subnet has too few "
        "free IPs (unknown in Azure; all or nothing by default)",
    )


class Timings(_Model):
    """Latencies of the real system; each is an assumption documented in docs/model.md."""

    node_provision: Duration = Field(180.0, description="VM creation to node Ready")
    nnc_fulfilment: Duration = Field(5.0, description="NNC spec change to status update")
    ip_programming: Duration = Field(1.0, description="PendingProgramming to Available")
    pod_start: Duration = Field(2.0, description="IP assigned to pod Running")
    ip_release: Duration = Field(5.0, description="pod deleted to its IP Available again")
    sandbox_retry: Duration = Field(
        10.0, ge=0.1, description="kubelet retry interval while CNI has no IP for a pod"
    )
    monitor_interval: Duration = Field(
        1.0, ge=0.1, description="CNS pool monitor reconcile period (RefreshDelay)"
    )
    node_drain: Duration = Field(
        30.0, description="upgrade: cordon and drain of one node until it can be deleted"
    )
    node_delete: Duration = Field(
        60.0, description="upgrade: drained node to VM deleted and its addresses free"
    )


class Resources(_Model):
    """CPU and memory, as Kubernetes spells them (``250m``, ``0.5``; ``512Mi``, ``2Gi``)."""

    cpu: CpuMillis = Field(0, description="CPU (cores or millicores)")
    memory: MemoryMiB = Field("0Mi", description="memory with a unit")


class Autoscaler(_Model):
    """The cluster autoscaler's bounds for one node pool."""

    min: int = Field(ge=0, le=MAX_NODES_PER_POOL)
    max: int = Field(ge=1, le=MAX_NODES_PER_POOL)


class AutoscalerProfile(_Model):
    """The cluster autoscaler's settings (AKS defaults)."""

    scan_interval: Duration = Field(10.0, ge=1, description="how often it looks")
    scale_down_utilization_threshold: float = Field(
        0.5, ge=0, le=1, description="a node below this share of requests may go"
    )
    scale_down_unneeded_time: Duration = Field(
        600.0, description="how long a node must be unneeded before it goes"
    )
    scale_down_delay_after_add: Duration = Field(
        600.0, description="no scale-down this long after a scale-up"
    )


class NodePool(_Model):
    """A node pool: nodes of one size, one node subnet and (dynamic) one pod subnet."""

    name: NodePoolName
    count: int = Field(1, ge=0, le=MAX_NODES_PER_POOL, description="nodes at t = 0")
    max_pods: int | None = Field(
        None, ge=10, le=250, description="default 30 (traditional) or 250 (dynamic)"
    )
    node_subnet: str
    pod_subnet: str | None = Field(None, description="dynamic only; default: the cluster's")
    system_pods_per_node: int = Field(
        0, ge=0, le=250, description="non-hostNetwork daemon pods on every node"
    )
    vm_size: str | None = Field(
        None, description="Azure VM size for allocatable CPU and memory (built-in table)"
    )
    allocatable: Resources | None = Field(
        None, description="allocatable CPU and memory per node (instead of vm_size)"
    )
    autoscaler: Autoscaler | None = Field(None, description="cluster autoscaler bounds")


class Cluster(_Model):
    """An AKS cluster: one CNI for all its node pools."""

    name: ClusterName
    cni: Literal["dynamic", "traditional"] = "dynamic"
    pod_subnet: str | None = Field(None, description="dynamic only: default pod subnet")
    ipam: Ipam = Ipam()
    timings: Timings = Timings()
    scheduling: Literal["spread", "binpack"] = Field(
        "spread", description="kube-scheduler scoring: emptiest node or fullest node first"
    )
    autoscaler_profile: AutoscalerProfile = AutoscalerProfile()
    node_pools: list[NodePool] = Field(min_length=1)


class Ramp(_Model):
    """Replicas move linearly from ``from`` to ``to`` over ``over``, starting at ``at``."""

    model_config = ConfigDict(populate_by_name=True)

    start: int = Field(alias="from", ge=0, le=MAX_REPLICAS)
    to: int = Field(ge=0, le=MAX_REPLICAS)
    over: Duration = Field(gt=0)
    at: Duration = 0.0


class DailyPoint(_Model):
    """From ``at`` (time of day) on, every day, run ``replicas``."""

    at: Duration = Field(
        lt=86400.0, description="time of day as a duration from midnight, e.g. 8h or 1050m (17:30)"
    )
    replicas: int = Field(ge=0, le=MAX_REPLICAS)


class FixedLifetime(_Model):
    distribution: Literal["fixed"]
    value: Duration = Field(gt=0)


class ExponentialLifetime(_Model):
    distribution: Literal["exponential"]
    mean: Duration = Field(gt=0)


class LognormalLifetime(_Model):
    distribution: Literal["lognormal"]
    median: Duration = Field(gt=0, description="exp(mu)")
    sigma: float = Field(gt=0, le=10, description="standard deviation of the log")


class EmpiricalLifetime(_Model):
    distribution: Literal["empirical"]
    file: str = Field(min_length=1, description="CSV file, relative to the scenario file")
    column: str = Field(min_length=1, description="column of durations in seconds")


Lifetime = Annotated[
    FixedLifetime | ExponentialLifetime | LognormalLifetime | EmpiricalLifetime,
    Field(discriminator="distribution"),
]


class Workload(_Model):
    """Pods of one kind: a Deployment, Poisson-arriving batch Jobs, or a DaemonSet."""

    name: WorkloadName
    kind: Literal["deployment", "job", "daemonset"] = "deployment"
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
        None, description="daemonset: pools whose nodes run it (default: all)"
    )
    host_network: bool = Field(False, description="pods use the node's IP, not a pod IP")
    requests: Resources | None = Field(None, description="CPU and memory each pod requests")
    termination_grace: Duration = Field(
        30.0, description="a deleted pod keeps its address this long before it is released"
    )


class ScaleNodePool(_Model):
    """Set a node pool's node count."""

    cluster: str
    node_pool: str
    count: int = Field(ge=0, le=MAX_NODES_PER_POOL)


class ScaleWorkload(_Model):
    """Set a workload's replica count."""

    workload: str
    replicas: int = Field(ge=0, le=MAX_REPLICAS)


class RolloutWorkload(_Model):
    """Roll a Deployment's pods to a new template (RollingUpdate strategy)."""

    workload: str
    max_surge: CountOrPercent = Field("25%", description="extra pods, rounded up")
    max_unavailable: CountOrPercent = Field("25%", description="pods down, rounded down")


class UpgradeNodePool(_Model):
    """Replace every node of a pool, surge nodes first (an AKS node image upgrade)."""

    cluster: str
    node_pool: str
    max_surge: CountOrPercent = Field(1, description="extra nodes, percentages round up")


#: The action keys of a timeline entry.
TIMELINE_ACTIONS = ("scale_node_pool", "scale_workload", "rollout_workload", "upgrade_node_pool")


class TimelineEvent(_Model):
    """One timed action; exactly one action key besides ``at``."""

    at: Duration
    scale_node_pool: ScaleNodePool | None = None
    scale_workload: ScaleWorkload | None = None
    rollout_workload: RolloutWorkload | None = None
    upgrade_node_pool: UpgradeNodePool | None = None

    def actions(self) -> list[str]:
        """Names of the action keys that are set."""
        return [k for k in TIMELINE_ACTIONS if getattr(self, k) is not None]


class Scenario(_Model):
    """A whole scenario file (format version 1)."""

    version: Literal[1] = Field(1, description="scenario format version")
    name: ResourceName
    description: str = ""
    seed: int = Field(0, ge=0, le=2**63 - 1, description="random seed; --seed overrides")
    duration: Duration = Field(3600.0, gt=0, description="simulated time")
    sample_every: Duration = Field(30.0, gt=0, description="grid of subnets.csv")
    preflight_checks: bool = Field(
        True, description="refuse traditional-CNI operations AKS's subnet check would refuse"
    )
    network: Network
    clusters: list[Cluster] = Field(min_length=1)
    workloads: list[Workload] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)

    #: The folder files named in the scenario are relative to (set when it is resolved).
    _folder: str | None = PrivateAttr(default=None)

    @property
    def folder(self) -> str | None:
        return self._folder

    def __eq__(self, other: object) -> bool:
        # The same document is the same scenario, wherever its file lives.
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = _Model.__hash__

    def to_document(self) -> dict[str, Any]:
        """The scenario as a plain document (durations spelled with units)."""
        return self.model_dump(mode="json", by_alias=True)
