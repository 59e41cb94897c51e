"""The whole simulated world: subnets, clusters and the scenario's timeline."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import simpy

from simulator.core.addressing import CidrBlocks
from simulator.model.autoscaler import ClusterAutoscaler
from simulator.model.clock import TickBus, collector_paused
from simulator.model.cluster import ClusterRuntime
from simulator.model.context import ModelContext
from simulator.model.pool_actions import delete_pool, replace_pool
from simulator.model.preflight import PoolBook
from simulator.model.recorder import Recorder
from simulator.model.retries import SandboxRetries
from simulator.model.streams import Streams
from simulator.model.subnets import POD_CIDR, SubnetState, VnetUsage, pod_cidr_space
from simulator.model.tripwire import RunStopped, Tripwire
from simulator.model.upgrade import upgrade
from simulator.model.workloads.deployment import DeploymentController
from simulator.scenario.models import Autoscaler, NodePool, Scenario, TimelineEvent

__all__ = ["World"]

#: How many slices a run is cut into for progress reports.
PROGRESS_STEPS = 200


class World:
    """Builds the model from a resolved scenario and runs it."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        *,
        literal_tick: bool = False,
        literal_retry: bool = False,
        literal_schedule: bool = False,
        stop_on_fail: bool = False,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.env = simpy.Environment()
        # ``stop_on_fail``: end the run at the instant it fails one of its checks.
        self.tripwire = (
            Tripwire(self.env, scenario.checks, scenario.duration) if stop_on_fail else None
        )
        self.recorder = Recorder(self.env, self.tripwire)
        self.subnets: dict[str, SubnetState] = {}
        # What the VNets' subnets hold: per VNet, and all of them together.
        self.vnets: dict[str, VnetUsage] = {}
        self.vnet_total = VnetUsage()
        for vnet in scenario.network.vnets:
            usage = self.vnets[vnet.name] = VnetUsage()
            for subnet in vnet.subnets:
                # Other consumers' reserved addresses count among the VNet's, from t = 0.
                self.subnets[subnet.name] = SubnetState(
                    subnet.name,
                    subnet.cidr,
                    vnet.name,
                    self.env,
                    subnet.reserved,
                    usages=(usage, self.vnet_total),
                )
        # Each cluster's pod CIDR is an address space of its own, outside every VNet.
        for cluster in scenario.clusters:
            if cluster.pod_cidr is not None:
                name = pod_cidr_space(cluster.name)
                pool = CidrBlocks(name, cluster.pod_cidr)
                self.subnets[name] = SubnetState(
                    name, cluster.pod_cidr, "", self.env, pool=pool, space=POD_CIDR
                )
        self.clusters: dict[str, ClusterRuntime] = {}
        # The pools the timeline adds, per cluster (set up with the cluster's own).
        self.later_pools: dict[str, list[NodePool]] = {c.name: [] for c in scenario.clusters}
        for _, _, name, pool in scenario.timeline_pools():
            self.later_pools[name].append(pool)
        self.streams = Streams(seed)
        ticks = TickBus(self.env)
        book = PoolBook()  # every pool, for pre-flight checks of spaces pools share
        retries = SandboxRetries(self.env, literal=literal_retry)
        for order, cluster in enumerate(scenario.clusters):
            ctx = ModelContext(
                self.env,
                self.recorder,
                cluster,
                order,
                ticks,
                self.subnets,
                scenario.network.exhaustion,
                literal_tick=literal_tick,
                retries=retries,
                literal_schedule=literal_schedule,
                tripwire=self.tripwire,
                network=scenario.network,
            )
            runtime = ClusterRuntime(
                ctx,
                self.streams,
                scenario.duration,
                preflight=scenario.preflight_checks,
                surge_per_pool=scenario.preflight_surge == "per_pool",
                book=book,
                folder=scenario.folder or os.getcwd(),
                later_pools=self.later_pools[cluster.name],
            )
            every = [*cluster.node_pools, *self.later_pools[cluster.name]]
            bounds_set = any(
                e.set_autoscaler is not None and e.set_autoscaler.cluster == cluster.name
                for e in scenario.timeline
            )
            if bounds_set or any(p.autoscaler is not None for p in every):
                runtime.autoscaler = ClusterAutoscaler(runtime, cluster.autoscaler_profile)
            self.clusters[cluster.name] = runtime
        self.workload_cluster = {w.name: w.cluster for w in scenario.workloads}

    @property
    def stopped_at_s(self) -> float | None:
        """When the run stopped because it failed its checks, or None (it ran to the end)."""
        return self.tripwire.stopped_at_s if self.tripwire is not None else None

    @property
    def end_s(self) -> float:
        """Where the run's records end: its duration, or the instant it was stopped."""
        stopped = self.stopped_at_s
        return self.scenario.duration if stopped is None else stopped

    def used_subnets(self) -> list[SubnetState]:
        """Subnets some node pool uses, in declaration order, then the clusters' pod
        CIDRs in cluster order."""
        used: set[str] = set()
        for cluster in self.scenario.clusters:
            for pool in [*cluster.node_pools, *self.later_pools[cluster.name]]:
                used.add(pool.node_subnet)
                if pool.pod_subnet:
                    used.add(pool.pod_subnet)
            if cluster.pod_cidr is not None:
                used.add(pod_cidr_space(cluster.name))
        return [s for name, s in self.subnets.items() if name in used]

    def run(
        self,
        progress: Callable[[float], None] | None = None,
        *,
        check: Callable[[World], None] | None = None,
    ) -> None:
        """Simulate from 0 to the scenario's duration (events at the end included).

        ``check`` (for tests, e.g. :func:`simulator.invariants.check`) is called with the
        world at the start and after every event that changed a subnet's counts; the run
        then goes event by event, with the same outcome."""
        for cluster in self.clusters.values():
            cluster.start()
        for workload in self.scenario.workloads:
            self.clusters[workload.cluster].add_workload(workload)
        self.env.process(self._timeline(self.scenario.timeline))
        # A run stopped by its tripwire ends there; the tripwire holds when and why.
        with collector_paused(), contextlib.suppress(RunStopped):
            self._advance(progress, check)

    def _advance(
        self, progress: Callable[[float], None] | None, check: Callable[[World], None] | None
    ) -> None:
        end = self.scenario.duration
        if check is not None:
            self._run_checked(end, check)
            if progress:
                progress(self.env.now)
            return
        steps = PROGRESS_STEPS if progress else 1
        for i in range(1, steps + 1):
            self.env.run(until=end * i / steps)
            if progress:
                progress(self.env.now)
        # run(until=end) stops before the events scheduled at ``end`` itself.
        while self.env.peek() <= end:
            self.env.step()

    def _run_checked(self, end: float, check: Callable[[World], None]) -> None:
        """Step event by event; call ``check`` whenever a subnet's change list moved."""
        subnets = list(self.subnets.values())
        env = self.env

        def mark() -> list[tuple[int, int, int]]:
            return [(s.change_count, s.allocated, s.assigned) for s in subnets]

        check(self)
        last = mark()
        while env.peek() <= end:
            env.step()
            now = mark()
            if now != last:
                last = now
                check(self)

    def _timeline(self, timeline: list[TimelineEvent]):
        for event in sorted(timeline, key=lambda e: e.at):
            if event.at > self.env.now:
                yield self.env.timeout(event.at - self.env.now)
            self.apply(event)

    def apply(self, event: TimelineEvent) -> None:
        """Carry out one timeline action now."""
        if event.scale_node_pool is not None:
            act = event.scale_node_pool
            self.clusters[act.cluster].scale_pool(act.node_pool, act.count)
        if event.scale_workload is not None:
            act = event.scale_workload
            self._deployment(act.workload).scale(act.replicas)
        if event.rollout_workload is not None:
            act = event.rollout_workload
            self._deployment(act.workload).start_rollout(act.max_surge, act.max_unavailable)
        if event.upgrade_node_pool is not None:
            act = event.upgrade_node_pool
            self.env.process(upgrade(self.clusters[act.cluster], act))
        if event.set_autoscaler is not None:
            act = event.set_autoscaler
            self.clusters[act.cluster].set_autoscaler(
                act.node_pool, Autoscaler(min=act.min, max=act.max)
            )
        if event.add_node_pool is not None:
            act = event.add_node_pool
            self.clusters[act.cluster].add_pool(act.node_pool)
        if event.delete_node_pool is not None:
            act = event.delete_node_pool
            self.env.process(delete_pool(self.clusters[act.cluster], act.node_pool))
        if event.replace_node_pool is not None:
            act = event.replace_node_pool
            self.env.process(replace_pool(self.clusters[act.cluster], act.node_pool, act.with_))
        if event.expand_pod_cidr is not None:
            act = event.expand_pod_cidr
            space = self.subnets[pod_cidr_space(act.cluster)]
            before = space.pool.cidr
            space.expand(act.pod_cidr)
            self.recorder.event(
                "pod_cidr_expanded",
                f"{before} -> {space.pool.cidr}: {space.pool.block_count} /24s",  # type: ignore[union-attr]
                cluster=act.cluster,
                subnet=space.name,
            )

    def _deployment(self, name: str) -> DeploymentController:
        controller = self.clusters[self.workload_cluster[name]].controllers[name]
        assert isinstance(controller, DeploymentController)
        return controller
