"""Azure CNI Overlay (``networkPlugin: azure``, ``networkPluginMode: overlay``): a node
takes one address of the node subnet and a /24 of the cluster's private pod CIDR.

Reference: reference/azure-cni.md §9. The /24 is the node's from its creation to its
deletion, fixed in size; pods take addresses from it at once and never wait for one
while the node has it. A node that cannot get a /24 fails. Pod addresses are not VNet
addresses: the pod CIDR is an address space of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.core.modes import NodeLoad, Space
from simulator.model.cni.base import CniMode
from simulator.model.recorder import PoolState

if TYPE_CHECKING:
    from simulator.model.entities import Node, Pod
    from simulator.model.subnets import SubnetState

__all__ = ["OverlayCni"]

#: Pods take addresses from .2 of the node's /24 on: .0 is the network and .1 the
#: node's own end of the pod network (an assumption; AKS does not say which it uses).
FIRST_POD_ADDRESS = 2


class OverlayCni(CniMode):
    """A /24 of the pod CIDR per node; no pod IP from the VNet."""

    name = "overlay"

    def vm_needs(self, load: NodeLoad) -> tuple[tuple[Space, int, int], ...]:
        return ((Space.POD_CIDR, 1, 256), (Space.NODE_SUBNET, 1, 1))

    def node_created(self, node: Node) -> bool:
        space = node.pod_subnet
        assert space is not None
        # The /24 first: a node that gets none takes nothing of the node subnet either.
        blocks = space.take_blocks(1, holder=node.holder)
        if blocks is None:
            pool = space.pool
            self.ctx.recorder.node_event(
                node,
                "node_failed",
                f"no free /24 in the pod CIDR {pool.cidr}: its {pool.block_count} /24s are "  # type: ignore[union-attr]
                "all held by nodes",
                subnet=space.name,
            )
            return False
        got = node.node_subnet.take(1, holder=node.holder)
        if got is None:
            space.give_back_blocks(blocks, holder=node.holder)
            self.ctx.recorder.node_event(
                node, "node_failed", "SubnetIsFull: no free address in the node subnet"
            )
            return False
        node.node_ip = got[0]
        node.cni = base = blocks[0]
        node.ips.add_available(
            range(base + FIRST_POD_ADDRESS, base + FIRST_POD_ADDRESS + node.max_pods)
        )
        self.record(node)
        return True

    def node_ready(self, node: Node) -> None:
        node.first_ips_s = self.ctx.env.now

    def node_deleted(self, node: Node) -> None:
        assert node.pod_subnet is not None
        if node.cni is not None:
            node.pod_subnet.give_back_blocks([node.cni], holder=node.holder)
            node.cni = None
        if node.node_ip is not None:
            node.node_subnet.give_back([node.node_ip], holder=node.holder)
        node.ips = type(node.ips)()

    def assign(self, pod: Pod) -> int | None:
        node = pod.node
        assert node is not None
        address = node.ips.assign(pod)
        if address is not None:
            self.ctx.recorder.nnc_assigned(node, len(node.ips.assigned))
            node.pod_subnet.assign_delta(1)  # type: ignore[union-attr]
        return address

    def release(self, pod: Pod) -> None:
        node = pod.node
        assert node is not None and pod.ip is not None
        node.ips.release(pod.ip)
        self.ctx.recorder.nnc_assigned(node, len(node.ips.assigned))
        node.pod_subnet.assign_delta(-1)  # type: ignore[union-attr]

    def pod_subnet(self, node: Node) -> SubnetState:
        assert node.pod_subnet is not None
        return node.pod_subnet

    def record(self, node: Node) -> None:
        # The node's /24 never changes: max pods addresses for its pods.
        held = node.ips.held
        self.ctx.recorder.nnc_state(
            node, PoolState(held, held, 0, 0, 0, 0, node.max_pods, False, "")
        )

    def pod_holdings(self, node: Node) -> list[tuple[SubnetState, list[int]]]:
        assert node.pod_subnet is not None
        if node.cni is None:
            return []
        return [(node.pod_subnet, list(node.pod_subnet.block_addresses(node.cni)))]

    def check_node(self, node: Node) -> str | None:
        if node.cni is None:
            return f"{self.name} node {node.name} is alive without a /24 of the pod CIDR"
        if node.ips.held != node.max_pods:
            return (
                f"{self.name} node {node.name} holds {node.ips.held} pod addresses, not max "
                f"pods {node.max_pods}"
            )
        return None
