"""Traces: the pods of a recorded cluster, each created and deleted when the trace says.

The replay plan (:mod:`simulator.scenario.traces`) gives the pods in arrival order with
their times, requests and placement; this controller creates each at its time (all the
pods of one instant in one timed call, so the event queue holds one arrival at a time)
and deletes it at its trace deletion. A pod whose trace names a node runs on that node
(the pool's k-th node at t = 0) while it lives; an evicted pod is replaced at once, as
its owner would, until its trace deletion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulator.core.vm_sizes import pool_allocatable
from simulator.model.entities import Node, Pod
from simulator.model.workloads.base import Controller, PodHost
from simulator.scenario.models import Workload
from simulator.scenario.traces import ReplayPlan, replay_plan

__all__ = ["TraceController", "TraceReplay"]


@dataclass
class TraceReplay:
    """What the results check of one trace workload: the plan, and what became of it."""

    workload: str
    cluster: str
    plan: ReplayPlan
    tolerance_alive: int
    tolerance_lag: float
    first: list[Pod | None]  # per replayed pod (plan order): its first incarnation
    evictions: np.ndarray  # per replayed pod: how often it was evicted and replaced
    launched: int  # replayed pods created by the end of the run (the rest came too late)
    pinned: list[Node | None] = field(default_factory=list)  # the node each pin named


class TraceController(Controller):
    """The pods of a trace, replayed at their times."""

    kind = "trace"
    watches_running = False  # a trace's pods live by the trace's times alone

    def __init__(self, cluster: PodHost, spec: Workload) -> None:
        super().__init__(cluster, spec)
        assert spec.source is not None
        self.plan = replay_plan(spec, Path(cluster.folder) / spec.source.file, cluster.spec, "")
        plan = self.plan
        # Requests score nodes only where some pool has allocatable resources to share.
        limited = any(pool_allocatable(p) != (None, None) for p in cluster.pools.values())
        self.requests_resources = limited and bool(plan.cpu.any() or plan.memory.any())
        # Plain lists of what each pod is made with: read a hundred thousand times,
        # they are cheaper to index than numpy arrays.
        table = plan.table
        self._arrive_at: list[float] = plan.arrive.tolist()
        self._deleted: list[float] = plan.deleted.tolist()
        self._shape = list(
            zip(
                [table.names[i] for i in plan.order],
                plan.cpu.tolist(),
                plan.memory.tolist(),
                plan.gpu.tolist(),
                plan.host_network.tolist(),
                plan.cap.tolist(),
                [table.group[i] for i in plan.order],
                strict=True,
            )
        )
        self.first: list[Pod | None] = [None] * len(plan)
        self.evictions = np.zeros(len(plan), dtype=np.int64)
        self.row_of: dict[Pod, int] = {}
        self.slots: dict[str, list[Node]] = {}
        self.launched = 0

    def start(self) -> None:
        plan = self.plan
        for pool, nodes in plan.pinned_nodes.items():
            self.slots[pool] = self.cluster.nodes_for[pool][: len(nodes)]
        if len(plan) and plan.arrive[0] <= self.cluster.duration:
            if plan.arrive[0] <= 0:
                self._arrive(0)  # the pods there at t = 0
            else:
                self.cluster.ctx.after(plan.arrive[0], self._arrive, 0)

    def _arrive(self, k: int) -> None:
        """Create the pods arriving at the instant of pod ``k`` (and every earlier one)."""
        times = self._arrive_at
        at, stop, count = times[k], k, len(times)
        while stop < count and times[stop] <= at:
            stop += 1
        for j in range(k, stop):
            self._launch(j, last=stop - k == 1)
        self.launched = stop
        if stop < count and times[stop] <= self.cluster.duration:
            self.cluster.ctx.after(times[stop] - self.cluster.env.now, self._arrive, stop)

    def _launch(self, k: int, *, last: bool = True) -> None:
        plan = self.plan
        name, cpu, mem, gpu, host, cap, group = self._shape[k]
        if self.first[k] is not None:
            name = f"{name}~{int(self.evictions[k])}"  # a replacement after an eviction
        pod = self.new_pod(name, plan.pool[k])
        pod.cpu, pod.mem, pod.gpu, pod.host_network = cpu, mem, gpu, host
        pod.pools = plan.pools[k]
        pod.cap = cap
        pod.group = group
        pin = plan.pin[k]
        if pin is not None:
            slots = self.slots.get(pin[0], [])
            pod.pin = slots[pin[1]] if pin[1] < len(slots) else None
            if pod.pin is None:
                pod.pool = pin[0]
        self.row_of[pod] = k
        if self.first[k] is None:
            self.first[k] = pod
        deleted = self._deleted[k]
        if deleted == deleted:  # not NaN: the trace deletes it
            self.cluster.ctx.after(max(deleted - self.cluster.env.now, 0.0), self._delete, pod)
        self.cluster.enqueue(pod, last=last)

    def _delete(self, pod: Pod) -> None:
        if pod.deleted_s is None:
            self.cluster.delete_pod(pod, "deleted")

    def evicted(self, pod: Pod) -> None:
        # Its owner replaces it: the trace says it lives on until its deletion.
        k = self.row_of.pop(pod)
        deleted = self._deleted[k]
        if math.isnan(deleted) or deleted > self.cluster.env.now:
            self.evictions[k] += 1
            self._launch(k, last=False)

    def replay(self) -> TraceReplay:
        plan = self.plan
        assert self.spec.tolerance is not None
        return TraceReplay(
            workload=self.name,
            cluster=self.cluster.spec.name,
            plan=plan,
            tolerance_alive=self.spec.tolerance.alive,
            tolerance_lag=self.spec.tolerance.lag,
            first=self.first,
            evictions=self.evictions,
            launched=self.launched,
            pinned=[
                self.slots[p[0]][p[1]] if p and p[1] < len(self.slots.get(p[0], [])) else None
                for p in plan.pin
            ],
        )
