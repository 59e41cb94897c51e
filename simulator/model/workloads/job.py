"""Batch Jobs: pods arrive as a Poisson process and run for a drawn lifetime."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from simulator.model.entities import Pod
from simulator.model.streams import Draws
from simulator.model.workloads.base import Controller, PodHost
from simulator.scenario.files import read_lifetimes
from simulator.scenario.models import Workload

__all__ = ["JobController"]


class JobController(Controller):
    """Batch Jobs: pods arrive as a Poisson process and run for a drawn lifetime."""

    kind = "job"

    def __init__(self, cluster: PodHost, spec: Workload) -> None:
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
            math.nextafter(self.cluster.duration, math.inf),  # arrivals at the end count
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
