"""Node pool upgrades with surge: new nodes first, then old nodes drained and deleted.

Reference: reference/azure-cni.md §10. AKS adds ``max_surge`` buffer nodes, then, batch
by batch, cordons and drains old nodes (their pods are evicted and rescheduled), deletes
them and brings in their replacements, until every node is new. The pool holds at most
its size + max surge nodes, so surge nodes need node-subnet addresses (and, in dynamic
mode, a primary and a first batch from the pod subnet) on top of the pool's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.core.units import resolve_count
from simulator.scenario.models import UpgradeNodePool

if TYPE_CHECKING:
    from simulator.model.cluster import ClusterRuntime

__all__ = ["upgrade"]


def upgrade(cluster: ClusterRuntime, act: UpgradeNodePool):
    """The upgrade as a SimPy process; its record lands in ``cluster.upgrades``."""
    env = cluster.env
    pool = cluster.pools[act.node_pool]
    old = [n for n in cluster.live_nodes(pool.name)]
    # Batches are surge nodes wide: a surge of 0 would replace nothing and never end, so
    # it counts as 1, as 0 % does.
    surge = min(max(resolve_count(act.max_surge, len(old), round_up=True), 1), max(len(old), 1))
    record: dict[str, Any] = {
        "cluster": cluster.spec.name,
        "node_pool": pool.name,
        "start_s": env.now,
        "end_s": None,
        "nodes": len(old),
        "max_surge": surge,
        "outcome": "running",
    }
    cluster.upgrades.append(record)
    if not old:
        record.update(end_s=env.now, outcome="nothing to upgrade")
        return
    if not cluster.preflight_ok(pool, surge, "upgrade surge", surge=True):
        record.update(end_s=env.now, outcome="refused by preflight check")
        return
    cluster.ctx.recorder.event(
        "upgrade_started",
        f"{len(old)} nodes, max surge {surge}",
        cluster=cluster.spec.name,
        node_pool=pool.name,
    )
    timings = cluster.timings
    to_create = len(old)
    fresh = [cluster.add_node(pool, timings.node_provision, upgraded=True) for _ in range(surge)]
    to_create -= surge
    while old:
        if any(n.failed for n in fresh):
            # AKS stops an upgrade whose new node cannot be created (SubnetIsFull); the
            # nodes not yet drained stay on the old image.
            record.update(end_s=env.now, outcome="failed: a new node could not be created")
            cluster.ctx.recorder.event(
                "upgrade_failed",
                f"stopped with {len(old)} old node(s) left: a new node could not be created",
                cluster=cluster.spec.name,
                node_pool=pool.name,
            )
            return
        if fresh:  # created together: Ready together, node_provision later
            yield env.timeout(timings.node_provision)
        batch, old = old[:surge], old[surge:]
        batch = [n for n in batch if n.alive]
        for node in batch:
            cluster.drain_node(node)
        yield env.timeout(timings.node_drain)
        yield env.timeout(timings.node_delete)
        for node in batch:
            if node.alive:
                cluster.remove_node(node)
        count = min(len(batch), to_create) if old else 0
        to_create -= count
        fresh = [
            cluster.add_node(pool, timings.node_provision, upgraded=True) for _ in range(count)
        ]
    record.update(end_s=env.now, outcome="complete")
    cluster.ctx.recorder.event(
        "upgrade_complete", "every node replaced", cluster=cluster.spec.name, node_pool=pool.name
    )
