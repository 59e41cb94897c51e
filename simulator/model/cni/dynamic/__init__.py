"""Dynamic allocation (pod subnet): nodes take pod addresses in batches via their NNC.

Reference: reference/azure-cni.md §4–5. A node takes 1 address from the node subnet;
its NC takes a primary plus batches of secondaries from the pod subnet, requested by
the node agent's pool monitor and carved out by the control plane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.model.cni.base import CniMode
from simulator.model.cni.dynamic.control_plane import ControlPlane, NncState
from simulator.model.cni.dynamic.node_agent import NodeAgent, NodeAgentV2
from simulator.model.context import ModelContext

if TYPE_CHECKING:
    from simulator.model.entities import Node, Pod
    from simulator.model.subnets import SubnetState

__all__ = ["DynamicCni"]


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
            (
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
