"""AKS's pre-flight check of pool operations (``InsufficientSubnetSize``), one mechanism
for every mode: the table of modes gives each mode's rules, this module applies them.

Reference: reference/azure-cni.md §2 (traditional: free addresses < new nodes × max
pods), §9 and §12 (kubenet and Overlay node subnets: free addresses < new nodes; the
Overlay pod CIDR: every pool's node count, autoscaled pools at their max count, plus
surge, a /24 each, against the whole pod CIDR). A refused operation changes nothing and
is recorded as a ``preflight_refused`` event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from simulator.core.modes import PreflightRule, Space, mode_spec

if TYPE_CHECKING:
    from simulator.model.context import ModelContext
    from simulator.model.entities import Node
    from simulator.model.subnets import SubnetState
    from simulator.scenario.models import Cluster, NodePool

__all__ = ["Preflight"]


class PoolOwner(Protocol):
    """What the check reads of a cluster (``ClusterRuntime``)."""

    ctx: ModelContext
    spec: Cluster

    def live_nodes(self, pool: str) -> list[Node]: ...

    def space_for(self, pool: NodePool, space: Space) -> SubnetState | None: ...


class Preflight:
    """The pre-flight check of one cluster's pool operations."""

    def __init__(self, cluster: PoolOwner, *, surge_per_pool: bool = False) -> None:
        self.cluster = cluster
        self.surge_per_pool = surge_per_pool
        # What each pool was last asked to hold (its count, then accepted scale targets).
        self.sizes: dict[str, int] = {p.name: p.count for p in cluster.spec.node_pools}

    def allows(self, pool: NodePool, nodes: int, operation: str, *, surge: int = 0) -> bool:
        """Whether AKS would accept ``operation`` of ``nodes`` new nodes in ``pool``
        (``surge``: the new nodes are an upgrade's surge, the pool keeps its size)."""
        if nodes <= 0:
            return True
        mode = mode_spec(self.cluster.spec.pool_mode(pool))
        for rule in mode.preflight:
            space = self.cluster.space_for(pool, rule.space)
            if space is None:
                continue
            if rule.counts == "new":
                refusal = self._new_nodes(rule, space, pool, nodes, operation)
            else:
                refusal = self._cluster_nodes(rule, space, pool, nodes, operation, surge)
            if refusal is not None:
                self.cluster.ctx.recorder.event(
                    "preflight_refused",
                    f"InsufficientSubnetSize: {refusal}",
                    cluster=self.cluster.spec.name,
                    node_pool=pool.name,
                    subnet=space.name,
                )
                return False
        return True

    def accepted(self, pool: NodePool, count: int) -> None:
        """A scale of ``pool`` to ``count`` nodes went ahead."""
        self.sizes[pool.name] = count

    @staticmethod
    def _new_nodes(
        rule: PreflightRule, space: SubnetState, pool: NodePool, nodes: int, operation: str
    ) -> str | None:
        each = rule.per_node(pool.max_pods or 0)
        need = nodes * each
        free = space.pool.free
        if free >= need:
            return None
        return (
            f"{operation} of {nodes} node(s) needs {nodes} × {each} = {need} free addresses "
            f"in {space.name}, which has {free}: short by {need - free}"
        )

    def _cluster_nodes(
        self,
        rule: PreflightRule,
        space: SubnetState,
        pool: NodePool,
        nodes: int,
        operation: str,
        surge: int,
    ) -> str | None:
        """Every pool's nodes (autoscaled: max count) plus surge, against the space."""
        parts = []
        total = 0
        for other in self.cluster.spec.node_pools:
            if other.autoscaler is not None:
                count, how = other.autoscaler.max, " (max count)"
            elif other.name == pool.name and not surge:  # the pool's size after the operation
                count, how = len(self.cluster.live_nodes(pool.name)) + nodes, ""
            else:
                count, how = self.sizes[other.name], ""
            total += count
            parts.append(f"{other.name} {count}{how}")
        # One surge node in all (Azure/AKS-Construction#701's numbers) or one per pool
        # (Azure/AKS#4467's formula); an upgrade's own surge counts for its pool.
        pools = self.cluster.spec.node_pools
        if self.surge_per_pool:
            extra = sum(surge if p.name == pool.name and surge else 1 for p in pools)
        else:
            extra = max(surge, 1)
        total += extra
        parts.append(f"surge {extra}")
        units = total * rule.per_node(pool.max_pods or 0)
        if rule.space is Space.POD_CIDR:  # counted in /24s, printed in addresses as AKS does
            block, capacity = space.pool.block, space.pool.block_count  # type: ignore[union-attr]
        else:
            block, capacity = 1, space.capacity
        if units <= capacity:
            return None
        return (
            f"{operation} of {nodes} node(s): Pre-allocated IPs {units * block} exceeds IPs "
            f"available {capacity * block} in {rule.space.label} {space.pool.cidr} "
            f"({' + '.join(parts)} = {total} nodes, {units} × {block})"
        )
