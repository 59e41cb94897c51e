"""AKS's pre-flight check of pool operations (``InsufficientSubnetSize``), one mechanism
for every mode: the table of modes gives each mode's rules, this module applies them.

Reference: reference/azure-cni.md §2, §9 and §12. A rule that counts the space adds up
every node pool whose nodes take from that space, in every cluster of the world: an
autoscaled pool at its max count, any other at the size it was last asked to hold, the
pool under operation at its size after it, plus surge, each at its own mode's units per
node, against the space's whole size. A rule that counts new nodes checks them against
the free units. The check runs on create, scale, upgrade, pool add and a change of
autoscaler bounds; a refused operation changes nothing and is recorded as a
``preflight_refused`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from simulator.core.modes import NodeLoad, PreflightRule, Space, mode_spec

if TYPE_CHECKING:
    from simulator.model.context import ModelContext
    from simulator.model.entities import Node
    from simulator.model.subnets import SubnetState
    from simulator.scenario.models import Autoscaler, Cluster, NodePool

__all__ = ["PoolBook", "Preflight"]


class PoolOwner(Protocol):
    """What the check reads of a cluster (``ClusterRuntime``)."""

    ctx: ModelContext
    spec: Cluster

    def live_nodes(self, pool: str) -> list[Node]: ...

    def space_for(self, pool: NodePool, space: Space) -> SubnetState | None: ...


@dataclass
class _Entry:
    owner: PoolOwner
    pool: NodePool  # its current spec: autoscaler bounds included
    size: int  # the node count it was last asked to hold


class PoolBook:
    """Every node pool of the world as the check counts it (shared by all clusters,
    since a subnet may serve pools of several clusters)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], _Entry] = {}

    def put(self, owner: PoolOwner, pool: NodePool, size: int) -> None:
        self.entries[owner.spec.name, pool.name] = _Entry(owner, pool, size)


class Preflight:
    """The pre-flight check of one cluster's pool operations."""

    def __init__(
        self, cluster: PoolOwner, *, surge_per_pool: bool = False, book: PoolBook | None = None
    ) -> None:
        self.cluster = cluster
        self.surge_per_pool = surge_per_pool
        self.book = book if book is not None else PoolBook()
        for pool in cluster.spec.node_pools:
            self.book.put(cluster, pool, pool.count)

    def allows(self, pool: NodePool, nodes: int, operation: str, *, surge: int = 0) -> bool:
        """Whether AKS would accept ``operation`` of ``nodes`` new nodes in ``pool``
        (``surge``: the new nodes are an upgrade's surge, the pool keeps its size)."""
        if nodes <= 0:
            return True
        if surge:
            size = self._size(pool)
        elif (self.cluster.spec.name, pool.name) in self.book.entries:
            size = len(self.cluster.live_nodes(pool.name)) + nodes
        else:  # a pool being added
            size = nodes
        return self._check(pool, size, nodes, operation, surge)

    def allows_bounds(self, pool: NodePool, bounds: Autoscaler) -> bool:
        """Whether AKS would accept new autoscaler bounds of ``pool`` (its max count then
        counts for it)."""
        changed = pool.model_copy(update={"autoscaler": bounds})
        return self._check(changed, self._size(pool), 0, "autoscaler bounds change", 0)

    def accepted(self, pool: NodePool, count: int) -> None:
        """``pool`` (as given: new bounds, or a pool just added) now holds ``count`` nodes."""
        self.book.put(self.cluster, pool, count)

    def forget(self, pool: str) -> None:
        """``pool`` is no pool of the cluster any more (deleted, or its add refused)."""
        self.book.entries.pop((self.cluster.spec.name, pool), None)

    def _size(self, pool: NodePool) -> int:
        entry = self.book.entries.get((self.cluster.spec.name, pool.name))
        return entry.size if entry is not None else 0

    def _check(self, pool: NodePool, size: int, nodes: int, operation: str, surge: int) -> bool:
        mode = mode_spec(self.cluster.spec.pool_mode(pool))
        for rule in mode.preflight:
            if rule.operations and operation not in rule.operations:
                continue
            space = self.cluster.space_for(pool, rule.space)
            if space is None:
                continue
            if rule.counts == "new":
                refusal = self._new_nodes(rule, space, pool, surge or nodes, operation)
            else:
                refusal = self._whole_space(rule, space, pool, size, nodes, operation, surge)
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

    def _load(self, owner: PoolOwner, pool: NodePool) -> NodeLoad:
        max_pods = pool.max_pods or 0
        return NodeLoad(max_pods, max_pods, owner.spec.ipam.batch_size)

    def _new_nodes(
        self, rule: PreflightRule, space: SubnetState, pool: NodePool, nodes: int, operation: str
    ) -> str | None:
        each = rule.per_node(self._load(self.cluster, pool))
        need = nodes * each
        free = space.pool.free
        if free >= need:
            return None
        return (
            f"{operation} of {nodes} node(s) needs {nodes} × {each} = {need} free addresses "
            f"in {space.name}, which has {free}: short by {need - free}"
        )

    def _whole_space(
        self,
        rule: PreflightRule,
        space: SubnetState,
        pool: NodePool,
        size: int,
        nodes: int,
        operation: str,
        surge: int,
    ) -> str | None:
        """Every pool on ``space`` (autoscaled: max count) plus surge, against its size."""
        here = (self.cluster.spec.name, pool.name)
        entries = dict(self.book.entries)
        entries[here] = _Entry(self.cluster, pool, size)
        block = rule.block
        parts: list[str] = []
        total = 0  # in addresses: pools of several modes may share the space
        mine = 0  # addresses per node of the pool under operation
        for key, entry in entries.items():
            each = sum(
                other.per_node(self._load(entry.owner, entry.pool)) * other.block
                for other in mode_spec(entry.owner.spec.pool_mode(entry.pool)).preflight
                if other.counts == "space"
                and entry.owner.space_for(entry.pool, other.space) is space
            )
            if not each:
                continue
            bounds = entry.pool.autoscaler
            count = bounds.max if bounds is not None else entry.size
            if key == here:
                mine = each
            # One surge node per pool (Azure/AKS#4467's formula) where the rule always
            # counts surge and the scenario says per_pool; an upgrade's own surge nodes.
            extra = 1 if rule.standing_surge and self.surge_per_pool else 0
            if key == here and surge:
                extra = max(extra, surge)
            name = entry.pool.name if key[0] == here[0] else f"{key[0]}/{entry.pool.name}"
            parts.append(self._part(name, count, bounds is not None, extra, each, block))
            total += (count + extra) * each
        if rule.standing_surge and not self.surge_per_pool and not surge:
            # One surge node in all (Azure/AKS-Construction#701's numbers).
            parts.append(self._part("surge", 1, False, 0, mine, block))
            total += mine
        capacity = space.pool.usable_blocks * block if block > 1 else space.capacity  # type: ignore[union-attr]
        if total <= capacity:
            return None
        where = space.pool.cidr if rule.space is Space.POD_CIDR else f"{space.name} "
        if rule.space is not Space.POD_CIDR:
            where += f"({space.pool.cidr})"
        sum_text = f"{total // block} × {block}" if block > 1 and not total % block else f"{total}"
        return (
            f"{operation} of {nodes} node(s): Pre-allocated IPs {total} exceeds IPs "
            f"available {capacity} in {rule.space.label} {where} "
            f"({' + '.join(parts)} = {sum_text})"
        )

    @staticmethod
    def _part(name: str, count: int, autoscaled: bool, extra: int, each: int, block: int) -> str:
        """One pool's term of the message: its nodes (and surge) × units per node, in the
        rule's units (/24s, /28s) where they divide evenly, else in addresses."""
        text = f"{name} {count}" + (" (max count)" if autoscaled else "")
        if extra:
            text += f" + surge {extra}"
        units = each // block if not each % block else each
        if units != 1:
            text = f"({text}) × {units}" if extra else f"{text} × {units}"
        return text
