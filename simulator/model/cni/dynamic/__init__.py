"""Dynamic allocation (pod subnet): nodes take pod addresses in batches via their NNC.

Reference: reference/azure-cni.md §4–5. A node takes 1 address from the node subnet;
its NC takes a primary plus batches of secondaries from the pod subnet, requested by
the node agent's pool monitor and carved out by the control plane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.core.addressing import SubnetPool
from simulator.core.pool_monitor import PoolCounts, decide_v1
from simulator.model.cni.base import CniMode
from simulator.model.cni.dynamic.control_plane import ControlPlane, NncState
from simulator.model.cni.dynamic.exhaustion import ExhaustionMonitor
from simulator.model.cni.dynamic.node_agent import NodeAgent, NodeAgentV2
from simulator.model.context import ModelContext
from simulator.model.recorder import PoolState

if TYPE_CHECKING:
    from simulator.model.entities import Node, Pod
    from simulator.model.subnets import SubnetState

__all__ = ["DynamicCni"]

_text = SubnetPool.text


class DynamicCni(CniMode):
    """Batch allocation from a pod subnet with pool monitor v1 or v2."""

    name = "dynamic"

    def __init__(self, ctx: ModelContext) -> None:
        super().__init__(ctx)
        self.control_plane = ControlPlane(ctx, self._status_published)
        self._agent_type = NodeAgentV2 if ctx.cluster.ipam.pool_monitor == "v2" else NodeAgent
        self.watches_demand = self._agent_type is NodeAgentV2  # v1 reads addresses only
        self._agents: dict[int, NodeAgent | NodeAgentV2] = {}
        self._watched: set[str] = set()  # pod subnets whose exhausted flag we follow
        if ctx.exhaustion.enabled:
            cluster = ctx.cluster
            used = {p.pod_subnet for p in cluster.node_pools if cluster.pool_mode(p) == self.name}
            for name, subnet in ctx.subnets.items():
                # One control-plane poller per pod subnet, whichever clusters share it.
                if name in used and subnet.exhaustion_poll is None:
                    ExhaustionMonitor(
                        ctx.env, subnet, ctx.exhaustion, ctx.recorder, literal=ctx.literal_tick
                    )

    def node_created(self, node: Node) -> bool:
        node.cni = NncState()
        addresses = node.node_subnet.take(1, holder=node.holder)
        if addresses is None:
            self.ctx.recorder.node_event(
                node, "node_failed", "SubnetIsFull: no free address in the node subnet"
            )
            return False
        node.node_ip = addresses[0]
        return True

    def node_ready(self, node: Node) -> None:
        subnet = node.pod_subnet
        assert subnet is not None
        if subnet.name not in self._watched:
            self._watched.add(subnet.name)
            subnet.exhaustion_listeners.append(lambda flag: self._exhaustion(subnet, flag))
        agent = self._agent_type(self.ctx, node, self.control_plane, self.record)
        self._agents[id(node)] = agent
        # A new node's NNC asks for one batch (clamped to the node's maximum).
        node.cni.requested = agent.scaler.batch
        self.record(node)
        self.control_plane.spec_changed(node)

    def node_deleted(self, node: Node) -> None:
        nnc: NncState = node.cni
        self._agents.pop(id(node), None)
        assert node.pod_subnet is not None
        held = list(nnc.secondaries)
        if nnc.primary is not None:
            held.append(nnc.primary)
        nnc.secondaries = set()
        nnc.primary = None
        if node.node_ip is not None:
            node.node_subnet.give_back([node.node_ip], holder=node.holder)
        node.pod_subnet.give_back(held, holder=node.holder)

    def assign(self, pod: Pod) -> int | None:
        node = pod.node
        assert node is not None
        ips = node.ips
        address = ips.assign(pod)
        if address is not None:
            self.ctx.recorder.nnc_assigned(node, len(ips.assigned))
            node.pod_subnet.assign_delta(1)  # type: ignore[union-attr]
            self._agents[id(node)].ips_changed()
        return address

    def release(self, pod: Pod) -> None:
        node = pod.node
        assert node is not None and pod.ip is not None
        ips = node.ips
        ips.release(pod.ip)
        self.ctx.recorder.nnc_assigned(node, len(ips.assigned))
        node.pod_subnet.assign_delta(-1)  # type: ignore[union-attr]
        self._agents[id(node)].ips_changed()

    def demand_changed(self, node: Node) -> None:
        agent = self._agents.get(id(node))
        if agent is not None:
            agent.demand_changed()

    def pod_subnet(self, node: Node) -> SubnetState:
        assert node.pod_subnet is not None
        return node.pod_subnet

    def record(self, node: Node) -> None:
        nnc: NncState = node.cni
        ips = node.ips
        agent = self._agents.get(id(node))
        if agent is not None:
            scaler = agent.scaler
            batch, max_ips, exhausted = scaler.batch, scaler.max_ips, agent.exhausted
        else:  # before the agent starts: the batch as CNS will clamp it (≤ max pods)
            batch = min(self.ctx.cluster.ipam.batch_size, node.max_pods)
            max_ips, exhausted = node.max_pods, False
        self.ctx.recorder.nnc_state(
            node,
            PoolState(
                nnc.requested,
                ips.held,
                int(nnc.primary is not None),
                len(ips.pending_release),
                len(ips.pending_programming),
                batch,
                max_ips,
                exhausted,
                nnc.nc_status,
            ),
        )

    def _exhaustion(self, subnet: SubnetState, flag: bool) -> None:
        """The control plane flipped a pod subnet's exhausted flag: tell its nodes' CNS."""
        for agent in sorted(self._agents.values(), key=lambda a: a.order):
            if agent.node.pod_subnet is subnet:
                agent.set_exhausted(flag)

    def _status_published(self, node: Node, added: list[int], removed: list[int]) -> None:
        agent = self._agents.get(id(node))
        if agent is not None:
            agent.ingest(added, removed)

    # --- invariants -------------------------------------------------------------------

    def pod_holdings(self, node: Node) -> list[tuple[SubnetState, list[int]]]:
        nnc: NncState = node.cni
        addresses = list(nnc.secondaries)
        if nnc.primary is not None:
            addresses.append(nnc.primary)
        assert node.pod_subnet is not None
        return [(node.pod_subnet, addresses)]

    def check_node(self, node: Node) -> str | None:
        """No address the NNC lists in ipsNotInUse is assigned to a pod, and CNS knows
        exactly the secondaries of the NC status."""
        nnc: NncState = node.cni
        reused = nnc.not_in_use & node.ips.assigned.keys()
        if reused:
            a = min(reused)
            return (
                f"node {node.name}: {_text(a)} is assigned to pod "
                f"{node.ips.assigned[a].name} but listed in the NNC's ipsNotInUse, "
                "so the control plane will take it back"
            )
        known = set(node.ips.all_addresses())
        if known != nnc.secondaries:
            extra = sorted(known - nnc.secondaries)[:3]
            lost = sorted(nnc.secondaries - known)[:3]
            return (
                f"node {node.name}: CNS knows {len(known)} addresses but its NC "
                f"status lists {len(nnc.secondaries)} (only in CNS: "
                f"{[_text(a) for a in extra]}, only in NC: {[_text(a) for a in lost]})"
            )
        return None

    def check_at_rest(
        self, last_row: dict[str, float], quiet: float | None
    ) -> tuple[int, str | None]:
        """Pool monitor v1 at rest keeps requested − assigned ≥ minFree unless its
        request is at the node's maximum (v2 has no such rule: its target is demand)."""
        spec = self.ctx.cluster
        if spec.ipam.pool_monitor != "v1":
            return 0, None
        now = self.ctx.env.now
        wait = quiet if quiet is not None else 2 * spec.timings.monitor_interval
        checked = 0
        for agent in self._agents.values():  # the node agents of live, Ready nodes
            node = agent.node
            if not node.ready or not agent.initialized:
                continue
            if now - last_row.get(node.name, now) < wait:
                continue
            nnc: NncState = node.cni
            scaler = agent.scaler.exhausted() if agent.exhausted else agent.scaler
            free = nnc.requested - len(node.ips.assigned)
            checked += 1
            if nnc.requested >= scaler.max_ips or free >= scaler.min_free:
                continue
            counts = PoolCounts(
                requested=nnc.requested,
                assigned=len(node.ips.assigned),
                held=node.ips.held,
                pending_release=len(node.ips.pending_release),
                not_in_use=len(nnc.not_in_use),
            )
            decision = decide_v1(agent.scaler, counts, exhausted=agent.exhausted)
            return checked, (
                f"node {node.name} quiet since t={last_row[node.name]:g}s: requested "
                f"{nnc.requested} − assigned {len(node.ips.assigned)} = {free} < minFree "
                f"{scaler.min_free} (batch {scaler.batch}, max {scaler.max_ips}, exhausted "
                f"{agent.exhausted}); v1 would now decide {decision.action.value}"
            )
        return checked, None
