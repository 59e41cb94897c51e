"""Static block allocation (pod subnet, ``podIPAllocationMode: StaticBlock``): each node
takes whole /28 blocks of the pod subnet when it is created and keeps them for life.

Reference: reference/azure-cni.md §8. A node takes ``ceil((max pods + 1) / 16)`` aligned
/28 blocks, all or nothing; one address of them is the node's primary and the rest are
for pods, Available at once. CNS runs no pool monitor for such a static NC (no batches,
no releases). A node whose blocks cannot be carved fails like a traditional node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simulator.core.modes import NodeLoad, Space, static_blocks
from simulator.model.cni.base import CniMode
from simulator.model.context import ModelContext
from simulator.model.recorder import PoolState

if TYPE_CHECKING:
    from simulator.model.entities import Node, Pod
    from simulator.model.subnets import SubnetState

__all__ = ["StaticBlockCni"]

#: Addresses per block: a /28.
BLOCK = 16


@dataclass
class StaticNc:
    """A node's static network container: its blocks and its primary address."""

    blocks: list[int] = field(default_factory=list)
    primary: int | None = None


class StaticBlockCni(CniMode):
    """Whole /28 blocks per node from a pod subnet, for the node's lifetime."""

    name = "static-block"

    def __init__(self, ctx: ModelContext) -> None:
        super().__init__(ctx)
        edges = bool(ctx.network and ctx.network.static_block_edges)
        cluster = ctx.cluster
        for pool in cluster.node_pools:
            if cluster.pool_mode(pool) == self.name and pool.pod_subnet:
                ctx.subnets[pool.pod_subnet].pool.track_blocks(BLOCK, edges=edges)  # type: ignore[union-attr]

    def vm_needs(self, load: NodeLoad) -> tuple[tuple[Space, int, int], ...]:
        return ((Space.POD_SUBNET, static_blocks(load.max_pods), 16), (Space.NODE_SUBNET, 1, 1))

    def node_created(self, node: Node) -> bool:
        node.cni = StaticNc()
        subnet = node.pod_subnet
        assert subnet is not None
        # The blocks first: a node that gets none takes nothing of the node subnet either.
        want = static_blocks(node.max_pods)
        blocks = subnet.take_blocks(want, holder=node.holder)
        if blocks is None:
            self.ctx.recorder.node_event(
                node,
                "node_failed",
                f"SubnetIsFull: node needs {want} /28 blocks (max pods {node.max_pods} + 1), "
                f"pod subnet has {subnet.pool.free_blocks()} whole /28 blocks free "  # type: ignore[union-attr]
                f"({subnet.pool.free} free addresses)",
                subnet=subnet.name,
            )
            return False
        got = node.node_subnet.take(1, holder=node.holder)
        if got is None:
            subnet.give_back_blocks(blocks, holder=node.holder)
            self.ctx.recorder.node_event(
                node, "node_failed", "SubnetIsFull: no free address in the node subnet"
            )
            return False
        node.node_ip = got[0]
        addresses = [a for b in blocks for a in subnet.block_addresses(b)]
        node.cni = StaticNc(blocks, addresses[0])
        node.ips.add_available(addresses[1:])
        self.record(node)
        return True

    def node_ready(self, node: Node) -> None:
        node.first_ips_s = self.ctx.env.now

    def node_deleted(self, node: Node) -> None:
        nc: StaticNc = node.cni
        assert node.pod_subnet is not None
        node.pod_subnet.give_back_blocks(nc.blocks, holder=node.holder)
        nc.blocks, nc.primary = [], None
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
        # A static NC requests nothing: its secondaries are fixed from creation.
        held = node.ips.held
        self.ctx.recorder.nnc_state(
            node, PoolState(held, held, 1, 0, 0, 0, node.max_pods, False, "")
        )

    def pod_holdings(self, node: Node) -> list[tuple[SubnetState, list[int]]]:
        nc: StaticNc = node.cni
        assert node.pod_subnet is not None
        primary = [nc.primary] if nc.primary is not None else []
        return [(node.pod_subnet, primary + node.ips.all_addresses())]

    def check_node(self, node: Node) -> str | None:
        nc: StaticNc = node.cni
        want = static_blocks(node.max_pods)
        if len(nc.blocks) != want:
            return f"static block node {node.name} holds {len(nc.blocks)} blocks, not {want}"
        assert node.pod_subnet is not None
        size = sum(len(node.pod_subnet.block_addresses(b)) for b in nc.blocks)
        if node.ips.held + 1 != size:
            return (
                f"static block node {node.name} knows {node.ips.held} pod addresses + its "
                f"primary, but its blocks hold {size}"
            )
        return None
