"""Workload controllers: Deployments (scale, rollouts, profiles), Jobs and DaemonSets.

Each controller owns its pods and reacts to what happens to them, as the Kubernetes
controllers do: a Deployment keeps its replica count and rolls its pods to a new
template within max surge and max unavailable; a Job starts pods as a Poisson process
and lets each run for a drawn lifetime; a DaemonSet runs one pod on every node of its
pools. Timed changes (ramps, daily profiles, arrivals) are SimPy processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from simulator.model.entities import Node, Pod
from simulator.model.streams import Draws
from simulator.scenario.models import Workload
from simulator.scenario.rules import read_lifetimes

if TYPE_CHECKING:
    from simulator.model.cluster import ClusterRuntime

__all__ = ["DaemonSetController", "DeploymentController", "JobController", "resolve_count"]

#: ReplicaSet scale-down order: unscheduled, then not ready, then running; newest first.
_DELETE_RANK = {"pending": 0, "waiting": 1, "starting": 2, "running": 3}


def resolve_count(value: int | str, total: int, *, round_up: bool) -> int:
    """A count or a percentage of ``total``, rounded the way Kubernetes rounds it."""
    if isinstance(value, int):
        return value
    exact = float(value.rstrip("%")) * total / 100
    # Round in a way that ignores float noise: 25 % of 12 is 3, not 3.0000000001.
    return math.ceil(exact - 1e-9) if round_up else math.floor(exact + 1e-9)


class Controller:
    """What the cluster tells a pod's owner."""

    kind = ""

    def __init__(self, cluster: ClusterRuntime, spec: Workload) -> None:
        self.cluster = cluster
        self.spec = spec
        self.name = spec.name
        self.cpu = spec.requests.cpu if spec.requests else 0
        self.mem = spec.requests.memory if spec.requests else 0
        self.host_network = spec.host_network
        self.grace = spec.termination_grace

    def start(self) -> None:
        """Create the initial pods and start timed behaviour."""

    def running(self, pod: Pod) -> None:
        """``pod`` became Running (ready)."""

    def evicted(self, pod: Pod) -> None:
        """``pod`` was evicted (drain or node deletion)."""

    def new_pod(
        self,
        name: str,
        pool: str | None,
        *,
        system: bool = False,
        revision: int = 0,
        lifetime: float | None = None,
    ) -> Pod:
        """A new pod of this workload, kept by the cluster (not yet scheduled)."""
        cluster = self.cluster
        pod = Pod(
            name=name, workload=self.name, cluster=cluster.spec.name, pool=pool,
            system=system, seq=0, created_s=cluster.env.now, owner=self, revision=revision,
            host_network=self.host_network, cpu=self.cpu, mem=self.mem, grace=self.grace,
            lifetime=lifetime,
        )  # fmt: skip
        return cluster.add_pod(pod)


class DeploymentController(Controller):
    """A Deployment: replicas, RollingUpdate rollouts, ramps and daily profiles."""

    kind = "deployment"

    def __init__(self, cluster: ClusterRuntime, spec: Workload) -> None:
        super().__init__(cluster, spec)
        self.replicas = 0
        self.live: dict[Pod, None] = {}  # not terminating, insertion-ordered
        self.created = 0
        self.revision = 0
        self.rollout: tuple[int | str, int | str] | None = None  # max surge, unavailable
        self._queued = False

    def start(self) -> None:
        assert self.spec.replicas is not None
        self.scale(self.spec.replicas, log=False)
        env = self.cluster.env
        if self.spec.ramp is not None:
            env.process(self._ramp())
        if self.spec.daily is not None:
            env.process(self._daily())

    # --- timed replica changes ----------------------------------------------------

    def _ramp(self):
        ramp = self.spec.ramp
        assert ramp is not None
        env = self.cluster.env
        steps = abs(ramp.to - ramp.start)
        step = 1 if ramp.to > ramp.start else -1
        # One replica more (or less) at each of ``steps`` evenly spaced instants.
        for k in range(1, steps + 1):
            at = ramp.at + ramp.over * k / steps
            if at > env.now:
                yield env.timeout(at - env.now)
            self.scale(ramp.start + step * k, log=k in (1, steps))

    def _daily(self):
        points = self.spec.daily
        assert points is not None
        env = self.cluster.env
        day = 0
        while True:
            for point in points:
                at = day * 86400.0 + point.at
                if at > env.now:
                    yield env.timeout(at - env.now)
                self.scale(point.replicas)
            day += 1

    # --- reconciling ----------------------------------------------------------------

    def scale(self, replicas: int, *, log: bool = True) -> None:
        if log and replicas != self.replicas:
            self.cluster.ctx.recorder.event(
                "workload_scaled",
                f"{self.name}: {self.replicas} -> {replicas} replicas",
                cluster=self.cluster.spec.name,
                node_pool=self.spec.node_pool or "",
            )
        self.replicas = replicas
        self.reconcile()

    def start_rollout(self, max_surge: int | str, max_unavailable: int | str) -> None:
        self.revision += 1
        self.rollout = (max_surge, max_unavailable)
        surge, unavailable = self._budget()
        self.cluster.ctx.recorder.event(
            "rollout_started",
            f"{self.name}: revision {self.revision}, {self.replicas} replicas, "
            f"max surge {surge}, max unavailable {unavailable}",
            cluster=self.cluster.spec.name,
            node_pool=self.spec.node_pool or "",
        )
        self.reconcile()

    def _budget(self) -> tuple[int, int]:
        """Max surge and max unavailable as counts. Kubernetes resolves percentages
        against the desired replicas at every sync, so a scale mid-rollout changes them."""
        assert self.rollout is not None
        max_surge, max_unavailable = self.rollout
        surge = resolve_count(max_surge, self.replicas, round_up=True)
        unavailable = resolve_count(max_unavailable, self.replicas, round_up=False)
        if surge == 0 and unavailable == 0:
            unavailable = 1  # Kubernetes' rule when both round to zero
        return surge, unavailable

    def reconcile(self) -> None:
        if self.rollout is not None:
            self._roll()
            return
        surplus = len(self.live) - self.replicas
        if surplus > 0:
            for pod in self._victims(list(self.live))[:surplus]:
                self._delete(pod)
        self._create(self.replicas - len(self.live))

    def _victims(self, pods: list[Pod]) -> list[Pod]:
        return sorted(pods, key=lambda p: (_DELETE_RANK[p.phase], -p.seq))

    def _delete(self, pod: Pod) -> None:
        del self.live[pod]
        self.cluster.delete_pod(pod, "deleted")

    def _create(self, count: int) -> None:
        for _ in range(max(count, 0)):
            self.created += 1
            name = (
                f"{self.name}-{self.created:05d}"
                if self.revision == 0
                else f"{self.name}-r{self.revision}-{self.created:05d}"
            )
            pod = self.new_pod(name, self.spec.node_pool, revision=self.revision)
            self.live[pod] = None
            self.cluster.enqueue(pod)

    def _roll(self) -> None:
        """One sync of the RollingUpdate strategy (Kubernetes' deployment controller):
        scale the new ReplicaSet up within max surge, then the old ones down as far as
        max unavailable allows; terminating pods count for neither."""
        surge, unavailable = self._budget()
        new = [p for p in self.live if p.revision == self.revision]
        if len(new) > self.replicas:
            # Scaled down mid-rollout: the new ReplicaSet shrinks to the desired count.
            for pod in self._victims(new)[: len(new) - self.replicas]:
                self._delete(pod)
            new = [p for p in self.live if p.revision == self.revision]
        self._create(min(self.replicas + surge - len(self.live), self.replicas - len(new)))
        new = [p for p in self.live if p.revision == self.revision]
        old = [p for p in self.live if p.revision != self.revision]
        min_available = self.replicas - unavailable
        new_unavailable = sum(p.phase != "running" for p in new)
        max_scaled_down = len(self.live) - min_available - new_unavailable
        if max_scaled_down > 0 and old:
            before = len(self.live)
            # Old pods that are not ready go first: removing them costs no availability.
            unhealthy = [p for p in self._victims(old) if p.phase != "running"]
            for pod in unhealthy[:max_scaled_down]:
                self._delete(pod)
            old = [p for p in old if p in self.live]
            available = sum(p.phase == "running" for p in self.live)
            for pod in self._victims(old)[: max(available - min_available, 0)]:
                self._delete(pod)
            if len(self.live) < before:
                # The old ReplicaSet's scale-down syncs the Deployment again at once: the
                # room it freed goes to new pods without waiting for one to become ready.
                self._sync_soon()
        new = [p for p in self.live if p.revision == self.revision]
        done = len(self.live) == len(new) == self.replicas
        if done and all(p.phase == "running" for p in new):
            self.rollout = None
            self.cluster.ctx.recorder.event(
                "rollout_complete",
                f"{self.name}: revision {self.revision} has {self.replicas} pods ready",
                cluster=self.cluster.spec.name,
                node_pool=self.spec.node_pool or "",
            )

    def _sync_soon(self) -> None:
        """Sync once at the end of this instant, however many pods changed (the
        controller's work queue coalesces them)."""
        if not self._queued:
            self._queued = True
            self.cluster.ctx.after(0, self._sync)

    def _sync(self) -> None:
        self._queued = False
        self.reconcile()

    # --- pod news ---------------------------------------------------------------------

    def running(self, pod: Pod) -> None:
        if self.rollout is not None:
            self._sync_soon()

    def evicted(self, pod: Pod) -> None:
        self.live.pop(pod, None)
        self._sync_soon()


class JobController(Controller):
    """Batch Jobs: pods arrive as a Poisson process and run for a drawn lifetime."""

    kind = "job"

    def __init__(self, cluster: ClusterRuntime, spec: Workload) -> None:
        super().__init__(cluster, spec)
        streams = cluster.streams
        # Separate streams: arrival times do not shift when lifetimes change, and neither
        # depends on anything but the seed and this workload's name.
        self.arrivals = streams.get(f"job/{spec.name}/arrivals")
        self.lifetimes = streams.get(f"job/{spec.name}/lifetimes")
        self.created = 0
        self.draw_lifetime = self._lifetime_draws()

    def start(self) -> None:
        rate = self.spec.rate
        assert rate is not None
        self._mean_gap = 1.0 / rate
        self._stop = min(
            self.spec.stop if self.spec.stop is not None else math.inf,
            math.nextafter(self.cluster.ctx_duration, math.inf),  # arrivals at the end count
        )
        self._gaps = Draws(lambda n: self.arrivals.exponential(self._mean_gap, n))
        self._next = self.spec.start
        self._plan_next()

    def _lifetime_draws(self) -> Callable[[], float]:
        """A function drawing one pod's lifetime, in seconds."""
        life = self.spec.lifetime
        assert life is not None
        rng = self.lifetimes
        if life.distribution == "fixed":
            value = life.value
            return lambda: value
        if life.distribution == "exponential":
            return Draws(lambda n: rng.exponential(life.mean, n))
        if life.distribution == "lognormal":
            return Draws(lambda n: rng.lognormal(math.log(life.median), life.sigma, n))
        file = Path(self.cluster.folder) / life.file
        sample = np.asarray(read_lifetimes(file, life.column), dtype=float)
        return Draws(lambda n: sample[rng.integers(len(sample), size=n)])

    def _plan_next(self) -> None:
        # Poisson arrivals: exponential gaps, one timed call at a time (no process).
        self._next += self._gaps()
        if self._next < self._stop:
            self.cluster.ctx.after(self._next - self.cluster.env.now, self._arrive)

    def _arrive(self) -> None:
        lifetime = self.draw_lifetime()
        self._plan_next()
        self._launch(lifetime, last=True)

    def _launch(self, lifetime: float, *, last: bool = False) -> None:
        # The cluster ends the pod after its lifetime (it knows when it got Running).
        self.created += 1
        pod = self.new_pod(
            f"{self.name}-{self.created:06d}", self.spec.node_pool, lifetime=lifetime
        )
        self.cluster.enqueue(pod, last=last)

    def evicted(self, pod: Pod) -> None:
        # The Job controller replaces a pod that failed by eviction; it starts over.
        assert pod.lifetime is not None
        self._launch(pod.lifetime)


class DaemonSetController(Controller):
    """One pod per Ready node of the selected pools (hostNetwork pods take no pod IP)."""

    kind = "daemonset"

    def __init__(self, cluster: ClusterRuntime, spec: Workload) -> None:
        super().__init__(cluster, spec)
        self.pools = set(spec.node_pools or cluster.pools)

    def node_ready(self, node: Node) -> None:
        if node.pool in self.pools:
            pod = self.new_pod(f"{self.name}-{node.name}", node.pool, system=True)
            self.cluster.bind_daemon(pod, node)
