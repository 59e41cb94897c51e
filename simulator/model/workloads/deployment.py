"""Deployments: a replica count kept, RollingUpdate rollouts, linear ramps and daily
profiles, as the Kubernetes deployment controller does them."""

from __future__ import annotations

import heapq

from simulator.core.units import resolve_count
from simulator.model.entities import Pod
from simulator.model.workloads.base import Controller, PodHost
from simulator.scenario.models import Workload

__all__ = ["DeploymentController"]


#: ReplicaSet scale-down order: unscheduled, then not ready, then running; newest first.
_DELETE_RANK = {"pending": 0, "waiting": 1, "starting": 2, "running": 3}


class DeploymentController(Controller):
    """A Deployment: replicas, RollingUpdate rollouts, ramps and daily profiles."""

    kind = "deployment"

    def __init__(self, cluster: PodHost, spec: Workload) -> None:
        super().__init__(cluster, spec)
        self.replicas = 0
        self.live: dict[Pod, None] = {}  # not terminating, insertion-ordered
        # The live pods by scale-down order, keyed as they were when pushed: a pod's rank
        # only grows (pending, waiting, starting, running), so a key at the top that
        # still matches its pod's is the smallest (see ``_first_victims``).
        self._ranked: list[tuple[int, int, Pod]] = []
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
        asked = True  # whether the pods made so far have asked for a scheduling pass
        # One replica more (or less) at each of ``steps`` evenly spaced instants.
        for k in range(1, steps + 1):
            at = ramp.at + ramp.over * k / steps
            if at > env.now:
                timeout = env.timeout(at - env.now)
                if not asked:
                    # The pass comes after the next step is scheduled, as when the pod
                    # had asked as it was made: in this event when nothing else is due
                    # now (one event fewer a step), else in the same place as before.
                    asked = True
                    self.cluster.request_schedule(last=True)
                yield timeout
            replicas = ramp.start + step * k
            if self.rollout is None and len(self.live) <= replicas:
                # Only new pods (no deletion, no other event): their pass can wait until
                # the end of this step.
                asked = False
                self.scale(replicas, log=k in (1, steps), ask=False)
            else:
                if not asked:  # before anything this step schedules, as it was
                    asked = True
                    self.cluster.request_schedule()
                self.scale(replicas, log=k in (1, steps))
        if not asked:
            self.cluster.request_schedule(last=True)

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

    def scale(self, replicas: int, *, log: bool = True, ask: bool = True) -> None:
        if log and replicas != self.replicas:
            self.cluster.ctx.recorder.event(
                "workload_scaled",
                f"{self.name}: {self.replicas} -> {replicas} replicas",
                cluster=self.cluster.spec.name,
                node_pool=self.spec.node_pool or "",
            )
        self.replicas = replicas
        if ask:
            self.reconcile()
        else:  # only new pods: the caller asks for their scheduling pass
            self._create(replicas - len(self.live), ask=False)

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
            for pod in self._first_victims(surplus):
                self._delete(pod)
        self._create(self.replicas - len(self.live))

    def _victims(self, pods: list[Pod]) -> list[Pod]:
        return sorted(pods, key=lambda p: (_DELETE_RANK[p.phase], -p.seq))

    def _first_victims(self, count: int) -> list[Pod]:
        """``self._victims(list(self.live))[:count]``, at the cost of ``count`` (a ramp
        down removes one pod a step: sorting every live pod each time is quadratic)."""
        heap = self._ranked
        if len(heap) > 2 * len(self.live) + 64:  # mostly pods gone meanwhile: rebuild
            heap[:] = [(_DELETE_RANK[p.phase], -p.seq, p) for p in self.live]
            heapq.heapify(heap)
        chosen: list[Pod] = []
        while len(chosen) < count and heap:
            rank, key, pod = heap[0]
            if pod not in self.live:
                heapq.heappop(heap)
            elif _DELETE_RANK[pod.phase] != rank:  # it moved on: file it where it is now
                heapq.heapreplace(heap, (_DELETE_RANK[pod.phase], key, pod))
            else:
                chosen.append(heapq.heappop(heap)[2])
        return chosen

    def _delete(self, pod: Pod) -> None:
        del self.live[pod]
        self.cluster.delete_pod(pod, "deleted")

    def _create(self, count: int, *, ask: bool = True) -> None:
        for _ in range(max(count, 0)):
            self.created += 1
            name = (
                f"{self.name}-{self.created:05d}"
                if self.revision == 0
                else f"{self.name}-r{self.revision}-{self.created:05d}"
            )
            pod = self.new_pod(name, self.spec.node_pool, revision=self.revision)
            self.live[pod] = None
            heapq.heappush(self._ranked, (0, -pod.seq, pod))  # pending: the lowest rank
            self.cluster.enqueue(pod, ask=ask)

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
