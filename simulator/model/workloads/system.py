"""``system_pods_per_node``: the daemon pods with a pod IP that every node of a pool runs."""

from __future__ import annotations

from simulator.model.workloads.base import Controller, PodHost

__all__ = ["SystemPods"]


class SystemPods(Controller):
    """The owner of a cluster's system pods (one per cluster; no workload of its own)."""

    kind = "system"

    def __init__(self, cluster: PodHost) -> None:
        self.cluster = cluster
        self.name = "(system)"
        self.cpu = self.mem = self.gpu = 0
        self.host_network = False
        self.grace = 0.0
