"""Node pool upgrades: surge nodes replace old ones, ``max_unavailable`` nodes are
reimaged in place.

Reference: reference/azure-cni.md §10. AKS adds ``max_surge`` buffer nodes (default
``10%`` of the pool, rounded up), then, batch by batch, cordons and drains old nodes
(their pods are evicted and rescheduled), waits the node soak time, deletes them and
brings in their replacements, until every node is new. Surge nodes need node-subnet
addresses (and, in dynamic mode, a primary and a first batch from the pod subnet) on
top of the pool's own. ``max_unavailable`` nodes per batch are upgraded in place:
cordoned, drained and reimaged, with no new VM and no new address. A drain that lasts
longer than ``drain_timeout`` fails the upgrade. From Kubernetes 1.35, when the surge
cannot be had, AKS retries with a surge of 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.core.units import resolve_count
from simulator.scenario.models import UpgradeNodePool, minor_version

if TYPE_CHECKING:
    from simulator.model.cluster import ClusterRuntime
    from simulator.model.entities import Node

__all__ = ["SURGE_FALLBACK_MINOR", "upgrade"]

#: The Kubernetes minor from which a failed surge is retried with a surge of 1 (AKS
#: CHANGELOG 2026-01-04).
SURGE_FALLBACK_MINOR = 35


def _batches(old: list[Node], surge: int, unavailable: int) -> list[tuple[list[Node], list[Node]]]:
    """The old nodes in rounds: ``surge`` to replace, then ``unavailable`` to reimage."""
    out = []
    while old:
        replaced, old = old[:surge], old[surge:]
        in_place, old = old[:unavailable], old[unavailable:]
        out.append((replaced, in_place))
    return out


def upgrade(cluster: ClusterRuntime, act: UpgradeNodePool):
    """The upgrade as a SimPy process; its record lands in ``cluster.upgrades``."""
    env = cluster.env
    pool = cluster.pools[act.node_pool]
    old = cluster.live_nodes(pool.name)
    size = len(old)
    # Percentages of the pool round up (AKS's API reference); neither exceeds the pool.
    surge = min(resolve_count(act.max_surge, size, round_up=True), size)
    unavailable = min(resolve_count(act.max_unavailable, size, round_up=True), size)
    if not surge and not unavailable:
        # Percentages too small to round up to a node on this pool: at least one node at
        # a time, as AKS's surge is (both 0 as written is refused when loading).
        surge = min(1, size)
    record: dict[str, Any] = {
        "cluster": cluster.spec.name,
        "node_pool": pool.name,
        "start_s": env.now,
        "end_s": None,
        "nodes": size,
        "max_surge": surge,
        "max_unavailable": unavailable,
        "surge_fallback": False,
        "outcome": "running",
    }
    cluster.upgrades.append(record)

    def stop(outcome: str, why: str, left: int) -> None:
        record.update(end_s=env.now, outcome=outcome)
        cluster.ctx.recorder.event(
            "upgrade_failed",
            f"stopped with {left} old node(s) left: {why}",
            cluster=cluster.spec.name,
            node_pool=pool.name,
        )

    if not old:
        record.update(end_s=env.now, outcome="nothing to upgrade")
        return
    fallback = (minor_version(cluster.spec.kubernetes_version) or 0) >= SURGE_FALLBACK_MINOR
    if surge and not cluster.preflight_ok(pool, surge, "upgrade surge", surge=True):
        if not (
            fallback and surge > 1 and cluster.preflight_ok(pool, 1, "upgrade surge", surge=True)
        ):
            record.update(end_s=env.now, outcome="refused by preflight check")
            return
        surge = _fell_back(cluster, record, "the pre-flight check refused it")
    cluster.ctx.recorder.event(
        "upgrade_started",
        f"{size} nodes, max surge {surge}"
        + (f", max unavailable {unavailable}" if unavailable else ""),
        cluster=cluster.spec.name,
        node_pool=pool.name,
    )
    timings = cluster.timings
    fresh = [cluster.add_node(pool, timings.node_provision, upgraded=True) for _ in range(surge)]
    if fallback and surge > 1 and any(node.failed for node in fresh):
        # The scale set could not take the surge: none of it stays, one node is tried.
        for node in fresh:
            if node.alive:
                cluster.remove_node(node)
        surge = _fell_back(cluster, record, "a surge node could not be created")
        fresh = [cluster.add_node(pool, timings.node_provision, upgraded=True)]
    batches = _batches(old, surge, unavailable)
    to_create = sum(len(replaced) for replaced, _ in batches) - surge
    back_at = env.now  # when the nodes reimaged in place are Ready again
    for k, (replaced, in_place) in enumerate(batches):
        left = sum(len(r) + len(i) for r, i in batches[k:])
        if any(node.failed for node in fresh):
            # AKS stops an upgrade whose new node cannot be created (SubnetIsFull); the
            # nodes not yet drained stay on the old image.
            stop("failed: a new node could not be created", "a new node could not be created", left)
            return
        ready_at = max(back_at, env.now + timings.node_provision if fresh else env.now)
        if ready_at > env.now:  # new nodes created together are Ready together
            yield env.timeout(ready_at - env.now)
        planned = bool(replaced)  # its nodes may have gone meanwhile (a scale-down)
        replaced = [node for node in replaced if node.alive]
        in_place = [node for node in in_place if node.alive]
        longest = max((cluster.drain_node(node) for node in replaced + in_place), default=0.0)
        # Eviction waits for each pod's termination grace: a pod that takes longer than
        # the timeout fails the drain. Otherwise the drain takes ``node_drain``, the
        # pods' addresses coming back as their grace ends (as for every drain).
        if max(timings.node_drain, longest) > act.drain_timeout:
            yield env.timeout(act.drain_timeout)
            stop(
                "failed: drain timeout",
                f"draining took longer than the drain timeout ({act.drain_timeout:g} s): "
                f"pods with a termination grace of {longest:g} s",
                left,
            )
            return
        yield env.timeout(timings.node_drain + act.node_soak)
        if in_place:
            back_at = env.now + timings.node_reimage
        for node in in_place:
            cluster.ctx.after(timings.node_reimage, cluster.reimage_node, node)
        fresh = []
        if planned:
            yield env.timeout(timings.node_delete)
            for node in replaced:
                if node.alive:
                    cluster.remove_node(node)
            count = min(len(replaced), to_create) if k + 1 < len(batches) else 0
            to_create -= count
            fresh = [
                cluster.add_node(pool, timings.node_provision, upgraded=True) for _ in range(count)
            ]
    if back_at > env.now:
        yield env.timeout(back_at - env.now)
    record.update(end_s=env.now, outcome="complete")
    cluster.ctx.recorder.event(
        "upgrade_complete",
        "every node upgraded" if unavailable else "every node replaced",
        cluster=cluster.spec.name,
        node_pool=pool.name,
    )


def _fell_back(cluster: ClusterRuntime, record: dict[str, Any], why: str) -> int:
    """Kubernetes 1.35 on: a surge AKS cannot have is retried as a surge of 1."""
    cluster.ctx.recorder.event(
        "upgrade_surge_fallback",
        f"max surge {record['max_surge']} -> 1: {why}",
        cluster=cluster.spec.name,
        node_pool=str(record["node_pool"]),
    )
    record.update(max_surge=1, surge_fallback=True)
    return 1
