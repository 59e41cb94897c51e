"""Scenario files, format version 1: typed, validated, with every default documented.

The models below are the single description of a scenario: they validate input, fill
defaults, print the JSON Schema (``ipsim schema``) and serialise the resolved scenario
written next to every result. Cross-field rules (addresses, references) live in
:mod:`simulator.scenario_rules`; :func:`load_scenario` applies both.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from .units import format_duration, parse_duration

__all__ = [
    "Cidr",
    "Cluster",
    "Duration",
    "Exhaustion",
    "Ipam",
    "Network",
    "NodePool",
    "ScaleNodePool",
    "ScaleWorkload",
    "Scenario",
    "Subnet",
    "TimelineEvent",
    "Timings",
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
    # Strict: YAML already types values, so "true" must not pass for a count.
    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=True, strict=True)


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


class Cluster(_Model):
    """An AKS cluster: one CNI for all its node pools."""

    name: ClusterName
    cni: Literal["dynamic", "traditional"] = "dynamic"
    pod_subnet: str | None = Field(None, description="dynamic only: default pod subnet")
    ipam: Ipam = Ipam()
    timings: Timings = Timings()
    node_pools: list[NodePool] = Field(min_length=1)


class Workload(_Model):
    """A Deployment: ``replicas`` pods scheduled onto a node pool (or any pool)."""

    name: WorkloadName
    kind: Literal["deployment"] = "deployment"
    cluster: str
    node_pool: str | None = Field(None, description="default: any node pool of the cluster")
    replicas: int = Field(1, ge=0, le=MAX_REPLICAS)


class ScaleNodePool(_Model):
    """Set a node pool's node count."""

    cluster: str
    node_pool: str
    count: int = Field(ge=0, le=MAX_NODES_PER_POOL)


class ScaleWorkload(_Model):
    """Set a workload's replica count."""

    workload: str
    replicas: int = Field(ge=0, le=MAX_REPLICAS)


class TimelineEvent(_Model):
    """One timed action; exactly one action key besides ``at``."""

    at: Duration
    scale_node_pool: ScaleNodePool | None = None
    scale_workload: ScaleWorkload | None = None

    def actions(self) -> list[str]:
        """Names of the action keys that are set."""
        return [k for k in ("scale_node_pool", "scale_workload") if getattr(self, k) is not None]


class Scenario(_Model):
    """A whole scenario file (format version 1)."""

    version: Literal[1] = Field(1, description="scenario format version")
    name: ResourceName
    description: str = ""
    seed: int = Field(0, ge=0, le=2**63 - 1, description="random seed; --seed overrides")
    duration: Duration = Field(3600.0, gt=0, description="simulated time")
    sample_every: Duration = Field(30.0, gt=0, description="grid of subnets.csv")
    network: Network
    clusters: list[Cluster] = Field(min_length=1)
    workloads: list[Workload] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)

    def to_document(self) -> dict[str, Any]:
        """The scenario as a plain document (durations spelled with units)."""
        return self.model_dump(mode="json")
