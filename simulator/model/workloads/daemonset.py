"""DaemonSets: one pod per Ready node of the selected pools."""

from __future__ import annotations

from simulator.model.entities import Node
from simulator.model.workloads.base import Controller, PodHost
from simulator.scenario.models import Workload

__all__ = ["DaemonSetController"]


class DaemonSetController(Controller):
    """One pod per Ready node of the selected pools (hostNetwork pods take no pod IP)."""

    kind = "daemonset"
    per_node = True

    def __init__(self, cluster: PodHost, spec: Workload) -> None:
        super().__init__(cluster, spec)
        self.pools = set(spec.node_pools or cluster.pools)
        self.every_pool = not spec.node_pools  # pools added later run it too

    def pool_added(self, pool: str) -> None:
        if self.every_pool:
            self.pools.add(pool)

    def node_ready(self, node: Node) -> None:
        if node.pool in self.pools:
            pod = self.new_pod(f"{self.name}-{node.name}", node.pool, system=True)
            self.cluster.bind_daemon(pod, node)
