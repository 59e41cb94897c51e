"""Scenario files, format version 1: typed, validated, with every default documented.

The models below are the single description of a scenario: they validate input, fill
defaults, print the JSON Schema (``ipsim schema``) and serialise the resolved scenario
written next to every result. Value types live in :mod:`.types`, workloads and their
kinds in :mod:`.workloads`, cross-field rules (addresses, references) in :mod:`.rules`;
:func:`~simulator.scenario.loader.load_scenario` applies them all.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr

from simulator.core.modes import DEFAULT_MODE, MODES, simulated_modes
from simulator.scenario.checks import Checks
from simulator.scenario.types import (
    MAX_NODES_PER_POOL,
    MAX_REPLICAS,
    Cidr,
    ClusterName,
    CountOrPercent,
    Duration,
    NodePoolName,
    ResourceName,
    Resources,
    StrictModel,
)
from simulator.scenario.workloads import DailyPoint, Lifetime, Ramp, Workload

__all__ = [
    "TIMELINE_ACTIONS",
    "AddNodePool",
    "Autoscaler",
    "AutoscalerProfile",
    "Checks",
    "Cidr",
    "Cluster",
    "DailyPoint",
    "DeleteNodePool",
    "Duration",
    "Exhaustion",
    "ExpandPodCidr",
    "Ipam",
    "Lifetime",
    "Network",
    "NodePool",
    "Ramp",
    "ReplaceNodePool",
    "Resources",
    "RolloutWorkload",
    "ScaleNodePool",
    "ScaleWorkload",
    "Scenario",
    "SetAutoscaler",
    "Subnet",
    "TimelineEvent",
    "Timings",
    "UpgradeNodePool",
    "VNet",
    "Workload",
    "added_pool_documents",
    "minor_version",
]


def _max_pods_defaults() -> str:
    """``30 (traditional) or 250 (dynamic)``: each simulated mode's default max pods."""
    parts = [f"{MODES[m].max_pods_default} ({m})" for m in simulated_modes()]
    return " or ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


#: The CNI modes a scenario can run, from the table of modes (in alphabetical order).
CniName = Literal[tuple(sorted(simulated_modes()))]  # type: ignore[valid-type]

#: What a pool of a pod-subnet cluster may choose (AKS's ``podIPAllocationMode``).
PoolAllocation = Literal[  # type: ignore[valid-type]
    tuple(m for m in simulated_modes() if MODES[m].aks.pod_ip_allocation_mode) or ("dynamic",)
]


def _pod_cidr_modes() -> str:
    return " and ".join(m for m in simulated_modes() if MODES[m].pod_cidr) or "no simulated mode"


class Subnet(StrictModel):
    """One subnet of a VNet."""

    name: ResourceName
    cidr: Cidr
    reserved: int = Field(
        0,
        ge=0,
        le=2**24,
        description="addresses held by other consumers (private endpoints, internal load "
        "balancers, other VMs): allocated from the start, never to nodes or pods",
    )


class VNet(StrictModel):
    """A virtual network: its address space and subnets."""

    name: ResourceName
    address_space: list[Cidr] = Field(min_length=1)
    subnets: list[Subnet] = Field(min_length=1)


class Exhaustion(StrictModel):
    """Subnet exhaustion as the control plane computes it (reference §7).

    The control plane polls each pod subnet's usage: above ``upper_percent`` of the
    usable addresses it marks the subnet exhausted, below ``lower_percent`` it clears the
    mark. The real thresholds and poll interval are not public; see docs/model.md."""

    enabled: bool = Field(
        False,
        description="compute the exhausted flag at all (CNS's EnableSubnetScarcity; the public "
        "CNS configs set it off)",
    )
    upper_percent: float = Field(
        90.0, gt=0, le=100, description="mark exhausted when allocated/usable rises above this"
    )
    lower_percent: float = Field(
        70.0, ge=0, lt=100, description="clear the mark when allocated/usable falls below this"
    )
    poll_interval: Duration = Field(
        10.0, ge=0.1, description="how often the control plane checks subnet usage"
    )


class Network(StrictModel):
    """The VNets of the scenario and the control plane's view of their subnets."""

    vnets: list[VNet] = Field(min_length=1)
    exhaustion: Exhaustion = Exhaustion()
    pod_cidr_overlap: Literal["subnets", "address_space"] = Field(
        "subnets",
        description="what a cluster's pod CIDR must not overlap in its VNet: its subnets "
        "(AKS since 2024-10) or its whole address space (the docs' rule)",
    )
    static_block_edges: bool = Field(
        False,
        description="static block: also hand out a pod subnet's first and last /28, which "
        "hold Azure's reserved addresses (not public; off by default)",
    )


class Ipam(StrictModel):
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


class Timings(StrictModel):
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
    node_reimage: Duration = Field(
        180.0,
        description="upgrade in place (max_unavailable): drained node reimaged to Ready "
        "again (not public; the VM creation time by default)",
    )


class Autoscaler(StrictModel):
    """The cluster autoscaler's bounds for one node pool."""

    min: int = Field(ge=0, le=MAX_NODES_PER_POOL)
    max: int = Field(ge=1, le=MAX_NODES_PER_POOL)


class AutoscalerProfile(StrictModel):
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
    max_node_provision_time: Duration = Field(
        900.0,
        gt=0,
        description="a scale-up whose nodes are not Ready this long after it has failed "
        "(AKS's profile default 15m)",
    )
    initial_node_group_backoff_duration: Duration = Field(
        300.0, gt=0, description="a pool's first back-off after a failed scale-up (upstream 5m)"
    )
    max_node_group_backoff_duration: Duration = Field(
        1800.0, gt=0, description="the longest back-off; each failure doubles it (upstream 30m)"
    )
    node_group_backoff_reset_timeout: Duration = Field(
        10800.0,
        gt=0,
        description="a failure this long after the last one backs off afresh (upstream 3h)",
    )


class NodePool(StrictModel):
    """A node pool: nodes of one size, one node subnet and (dynamic) one pod subnet."""

    name: NodePoolName
    count: int = Field(1, ge=0, le=MAX_NODES_PER_POOL, description="nodes at t = 0")
    max_pods: int | None = Field(None, ge=10, le=250, description=f"default {_max_pods_defaults()}")
    node_subnet: str
    pod_subnet: str | None = Field(
        None, description="pod-subnet modes only; default: the cluster's"
    )
    pod_ip_allocation: PoolAllocation | None = Field(
        None,
        description="pod-subnet clusters: how this pool's pods get addresses (AKS "
        "podIPAllocationMode); default: the cluster's cni",
    )
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
    host_network_addons: int = Field(
        0,
        ge=0,
        description="traditional CNI: hostNetwork add-on pods per node, for which AKS "
        "pre-allocates no address (not public: default 0, the docs' 1 + max pods)",
    )


#: A Kubernetes minor version, with or without its patch: ``1.35`` or ``1.35.2``.
KubernetesVersion = Annotated[str, Field(pattern=r"^1\.[0-9]{1,3}(\.[0-9]{1,3})?$")]


def minor_version(version: str | None) -> int | None:
    """The minor of ``1.<minor>[.<patch>]``, None when no version is given."""
    return None if version is None else int(version.split(".")[1])


class Cluster(StrictModel):
    """An AKS cluster: one CNI for all its node pools."""

    name: ClusterName
    cni: CniName = DEFAULT_MODE
    kubernetes_version: KubernetesVersion | None = Field(
        None,
        description="1.<minor>[.<patch>]: rules that depend on it (the upgrade surge "
        "fallback from 1.35) use it; default: a version before 1.35",
    )
    pod_subnet: str | None = Field(None, description="pod-subnet modes only: default pod subnet")
    pod_cidr: Cidr | None = Field(
        None, description=f"{_pod_cidr_modes()} only: the pods' private range"
    )
    service_cidr: Cidr = Field(
        "10.0.0.0/16", description="Kubernetes service range (a pod CIDR must not overlap it)"
    )
    ipam: Ipam = Ipam()
    timings: Timings = Timings()
    scheduling: Literal["spread", "binpack"] = Field(
        "spread", description="kube-scheduler scoring: emptiest node or fullest node first"
    )
    autoscaler_profile: AutoscalerProfile = AutoscalerProfile()
    node_pools: list[NodePool] = Field(min_length=1)

    def pool_mode(self, pool: NodePool) -> str:
        """The CNI mode a pool's nodes run: its ``pod_ip_allocation``, else the cluster's."""
        return pool.pod_ip_allocation or self.cni


class ScaleNodePool(StrictModel):
    """Set a node pool's node count."""

    cluster: str
    node_pool: str
    count: int = Field(ge=0, le=MAX_NODES_PER_POOL)


class ScaleWorkload(StrictModel):
    """Set a workload's replica count."""

    workload: str
    replicas: int = Field(ge=0, le=MAX_REPLICAS)


class RolloutWorkload(StrictModel):
    """Roll a Deployment's pods to a new template (RollingUpdate strategy)."""

    workload: str
    max_surge: CountOrPercent = Field("25%", description="extra pods, rounded up")
    max_unavailable: CountOrPercent = Field("25%", description="pods down, rounded down")


class UpgradeNodePool(StrictModel):
    """Upgrade every node of a pool (an AKS node image upgrade): surge nodes replace old
    ones, ``max_unavailable`` nodes are reimaged in place."""

    cluster: str
    node_pool: str
    max_surge: CountOrPercent = Field(
        "10%", description="extra nodes; percentages of the pool round up, at least 1"
    )
    max_unavailable: CountOrPercent = Field(
        0,
        description="nodes upgraded in place at once (cordon, drain, reimage: no new VM, "
        "no new addresses); percentages round up",
    )
    drain_timeout: Duration = Field(
        1800.0, gt=0, description="a node's drain taking longer fails the upgrade"
    )
    node_soak: Duration = Field(
        0.0, description="wait after draining a node before it is deleted or reimaged"
    )


class AddNodePool(StrictModel):
    """Add a node pool to a cluster (through the pre-flight check)."""

    cluster: str
    node_pool: NodePool


class DeleteNodePool(StrictModel):
    """Delete a node pool: its nodes are cordoned, drained and deleted."""

    cluster: str
    node_pool: str


class ReplaceNodePool(StrictModel):
    """Blue-green: create the pool ``with``, then cordon and drain the old one, then
    delete it (how AKS users change max pods, VM size, subnet or allocation mode)."""

    model_config = ConfigDict(populate_by_name=True)

    cluster: str
    node_pool: str
    with_: NodePool = Field(alias="with", description="the new pool (the keys of node_pools[])")


class SetAutoscaler(StrictModel):
    """Set a node pool's cluster autoscaler bounds (enabling the autoscaler if it is off);
    AKS runs its pre-flight check on the new max count."""

    cluster: str
    node_pool: str
    min: int = Field(ge=0, le=MAX_NODES_PER_POOL)
    max: int = Field(ge=1, le=MAX_NODES_PER_POOL)


class ExpandPodCidr(StrictModel):
    """Widen a cluster's pod CIDR to a range that contains it (Overlay)."""

    cluster: str
    pod_cidr: Cidr


#: The action keys of a timeline entry.
TIMELINE_ACTIONS = (
    "scale_node_pool",
    "scale_workload",
    "rollout_workload",
    "upgrade_node_pool",
    "expand_pod_cidr",
    "add_node_pool",
    "delete_node_pool",
    "replace_node_pool",
    "set_autoscaler",
)


class TimelineEvent(StrictModel):
    """One timed action; exactly one action key besides ``at``."""

    at: Duration
    scale_node_pool: ScaleNodePool | None = None
    scale_workload: ScaleWorkload | None = None
    rollout_workload: RolloutWorkload | None = None
    upgrade_node_pool: UpgradeNodePool | None = None
    expand_pod_cidr: ExpandPodCidr | None = None
    add_node_pool: AddNodePool | None = None
    delete_node_pool: DeleteNodePool | None = None
    replace_node_pool: ReplaceNodePool | None = None
    set_autoscaler: SetAutoscaler | None = None

    def actions(self) -> list[str]:
        """Names of the action keys that are set."""
        return [k for k in TIMELINE_ACTIONS if getattr(self, k) is not None]


class Scenario(StrictModel):
    """A whole scenario file (format version 1)."""

    version: Literal[1] = Field(1, description="scenario format version")
    name: ResourceName
    description: str = ""
    seed: int = Field(0, ge=0, le=2**63 - 1, description="random seed; --seed overrides")
    duration: Duration = Field(3600.0, gt=0, description="simulated time")
    sample_every: Duration = Field(30.0, gt=0, description="grid of subnets.csv")
    preflight_checks: bool = Field(
        True, description="refuse pool operations AKS's InsufficientSubnetSize check would refuse"
    )
    preflight_surge: Literal["once", "per_pool"] = Field(
        "once",
        description="pre-flight checks that count every pool (Overlay's pod CIDR): one "
        "surge node in all, or one per pool",
    )
    network: Network
    clusters: list[Cluster] = Field(min_length=1)
    workloads: list[Workload] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)
    checks: Checks = Field(Checks(), description="what the run must do to pass its verdict")

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

    __hash__ = StrictModel.__hash__

    def timeline_pools(self) -> list[tuple[int, str, str, NodePool]]:
        """The pools the timeline adds, in the timeline's order: the entry's index, where
        in it the pool is (``add_node_pool.node_pool``, ``replace_node_pool.with``), the
        cluster it names, the pool."""
        out = []
        for i, event in enumerate(self.timeline):
            if event.add_node_pool is not None:
                act = event.add_node_pool
                out.append((i, "add_node_pool.node_pool", act.cluster, act.node_pool))
            if event.replace_node_pool is not None:
                act = event.replace_node_pool
                out.append((i, "replace_node_pool.with", act.cluster, act.with_))
        return out

    def to_document(self) -> dict[str, Any]:
        """The scenario as a plain document (durations spelled with units)."""
        return self.model_dump(mode="json", by_alias=True)


#: The timeline actions that add a pool, and the key of the pool they add.
POOL_ADDING = {"add_node_pool": "node_pool", "replace_node_pool": "with"}


def added_pool_documents(document: dict[str, Any]) -> list[tuple[Any, dict[str, Any], Any]]:
    """The pools a scenario document's timeline adds, as written (before validation, or
    from a resolved ``scenario.resolved.yaml``): the cluster named, the pool, the time."""
    out = []
    for event in document.get("timeline") or []:
        if not isinstance(event, dict):
            continue
        for action, key in POOL_ADDING.items():
            act = event.get(action)
            if isinstance(act, dict) and isinstance(act.get(key), dict):
                out.append((act.get("cluster"), act[key], event.get("at")))
    return out
