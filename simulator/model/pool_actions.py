"""Node pool deletion and blue-green replacement, as SimPy processes.

Reference: reference/azure-cni.md §10. Max pods, VM size, subnet and allocation mode of a
pool cannot change in place: AKS users add a new pool, cordon and drain the old one and
delete it (Azure/AKS#1790, #1574). Adding goes through the pre-flight check
(:meth:`ClusterRuntime.add_pool`); deleting takes no new addresses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.model.cluster import ClusterRuntime
    from simulator.model.entities import Node
    from simulator.scenario.models import NodePool

__all__ = ["delete_pool", "replace_pool"]


def _drain_and_delete(cluster: ClusterRuntime, nodes: list[Node], *, one_by_one: bool):
    """Cordon every node (evicted pods must not land on a sibling), drain them (all at
    once, or one after another as ``kubectl drain`` of each node does), then delete them.
    A drain takes ``node_drain``, as an upgrade's does."""
    timings = cluster.timings
    for node in nodes:
        node.cordon()
        cluster.index.update(node)
    if one_by_one:
        for node in nodes:
            if node.alive:
                cluster.drain_node(node)
                yield cluster.env.timeout(timings.node_drain)
    else:
        for node in nodes:
            cluster.drain_node(node)
        yield cluster.env.timeout(timings.node_drain)
    yield cluster.env.timeout(timings.node_delete)
    for node in nodes:
        if node.alive:
            cluster.remove_node(node)


def delete_pool(cluster: ClusterRuntime, name: str):
    """Delete a pool: it leaves the cluster's checks at once; its nodes are drained
    together and deleted."""
    cluster.unlist_pool(name)
    nodes = cluster.live_nodes(name)
    cluster.ctx.recorder.event(
        "node_pool_deleted",
        f"{len(nodes)} nodes cordoned, drained and deleted",
        cluster=cluster.spec.name,
        node_pool=name,
    )
    yield from _drain_and_delete(cluster, nodes, one_by_one=False)


def replace_pool(cluster: ClusterRuntime, old: str, new: NodePool):
    """Blue-green: create ``new``; once its nodes are Ready, cordon the old pool's nodes,
    drain them one by one and delete the pool. A new pool the pre-flight check or the
    scale set refuses, or whose nodes cannot all be created, stops the replacement: the
    old pool stays."""
    env = cluster.env
    cluster.ctx.recorder.event(
        "node_pool_replace_started",
        f"{old} -> {new.name} ({new.count} nodes, max pods {new.max_pods}, "
        f"{cluster.spec.pool_mode(new)})",
        cluster=cluster.spec.name,
        node_pool=old,
    )

    def stop(why: str) -> None:
        cluster.ctx.recorder.event(
            "node_pool_replace_failed",
            f"{old} stays: {why}",
            cluster=cluster.spec.name,
            node_pool=old,
        )

    refusal = cluster.add_pool(new, "replace")
    if refusal is not None:
        stop(f"the new pool was refused by {refusal}")
        return
    if new.count:
        yield env.timeout(cluster.timings.node_provision)
    if any(n.failed for n in cluster.nodes_for[new.name]):
        stop(f"a node of {new.name} could not be created")
        return
    cluster.unlist_pool(old)
    yield from _drain_and_delete(cluster, cluster.live_nodes(old), one_by_one=True)
    cluster.ctx.recorder.event(
        "node_pool_replaced",
        f"{old} deleted, {new.name} runs its workloads",
        cluster=cluster.spec.name,
        node_pool=new.name,
    )
