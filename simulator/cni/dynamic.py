"""Dynamic allocation (pod subnet): nodes take pod addresses in batches via their NNC.

Reference: reference/azure-cni.md §4–5. A node takes 1 address from the node subnet;
its NC takes a primary plus batches of secondaries from the pod subnet, requested by
the node agent's pool monitor and carved out by the control plane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model.control_plane import ControlPlane, NncState
from ..model.node_agent import NodeAgent
from .base import CniMode, ModelContext

if TYPE_CHECKING:
    from ..model.entities import Node, Pod
    from ..model.subnets import SubnetState

__all__ = ["DynamicCni"]


class DynamicCni(CniMode):
    """Batch allocation from a pod subnet with pool monitor v1."""

    name = "dynamic"

    def __init__(self, ctx: ModelContext) -> None:
        super().__init__(ctx)
        self.control_plane = ControlPlane(ctx, self._status_published)
        self._agents: dict[int, NodeAgent] = {}

    def node_created(self, node: Node) -> bool:
        node.cni = NncState()
        addresses = node.node_subnet.take(1)
        if addresses is None:
            self.ctx.recorder.node_event(
                node, "node_failed", "SubnetIsFull: no free address in the node subnet"
            )
            return False
        node.node_ip = addresses[0]
        return True

    def node_ready(self, node: Node) -> None:
        agent = NodeAgent(self.ctx, node, self.control_plane, self.record)
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
            node.node_subnet.give_back([node.node_ip])
        node.pod_subnet.give_back(held)

    def assign(self, pod: Pod) -> int | None:
        node = pod.node
        assert node is not None
        address = node.ips.assign(pod)
        if address is not None:
            self.record(node)
            self._agents[id(node)].touch()
        return address

    def release(self, pod: Pod) -> None:
        node = pod.node
        assert node is not None and pod.ip is not None
        node.ips.release(pod.ip)
        self.record(node)
        self._agents[id(node)].touch()

    def pod_subnet(self, node: Node) -> SubnetState:
        assert node.pod_subnet is not None
        return node.pod_subnet

    def record(self, node: Node) -> None:
        nnc: NncState = node.cni
        self.ctx.recorder.nnc_state(node, nnc.requested, node.ips.held, nnc.nc_status)

    def _status_published(self, node: Node, added: list[int], removed: list[int]) -> None:
        agent = self._agents.get(id(node))
        if agent is not None:
            agent.ingest(added, removed)
