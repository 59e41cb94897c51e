"""Traditional Azure CNI: every node takes 1 + max pods addresses from the node subnet.

Reference: reference/azure-cni.md §2. The addresses are taken when the VM is created,
all or nothing, whatever the node will run; pods take one of them at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.core.modes import NodeLoad, Space
from simulator.model.cni.base import CniMode
from simulator.model.recorder import PoolState

if TYPE_CHECKING:
    from simulator.model.entities import Node, Pod
    from simulator.model.subnets import SubnetState

__all__ = ["TraditionalCni"]


class TraditionalCni(CniMode):
    """Static per-node allocation from the node subnet."""

    name = "traditional"

    def vm_needs(self, load: NodeLoad) -> tuple[tuple[Space, int, int], ...]:
        return ((Space.NODE_SUBNET, 1 + load.max_pods - load.unreserved, 1),)

    def node_created(self, node: Node) -> bool:
        secondaries = _secondaries(node)
        addresses = node.node_subnet.take(1 + secondaries, holder=node.holder)
        if addresses is None:
            free = node.node_subnet.pool.free
            less = f" - {node.unreserved} hostNetwork add-ons" if node.unreserved else ""
            self.ctx.recorder.node_event(
                node,
                "node_failed",
                f"SubnetIsFull: node needs {1 + secondaries} addresses "
                f"(1 + max pods {node.max_pods}{less}), subnet has {free} free",
            )
            return False
        node.node_ip = addresses[0]
        node.ips.add_available(addresses[1:])
        self.record(node)
        return True

    def node_ready(self, node: Node) -> None:
        node.first_ips_s = self.ctx.env.now

    def node_deleted(self, node: Node) -> None:
        addresses = node.ips.all_addresses()
        if node.node_ip is not None:
            addresses.append(node.node_ip)
        node.node_subnet.give_back(addresses, holder=node.holder)
        node.ips = type(node.ips)()

    def assign(self, pod: Pod) -> int | None:
        node = pod.node
        assert node is not None
        address = node.ips.assign(pod)
        if address is not None:
            self.ctx.recorder.nnc_assigned(node, len(node.ips.assigned))
            node.node_subnet.assign_delta(1)
        return address

    def release(self, pod: Pod) -> None:
        node = pod.node
        assert node is not None and pod.ip is not None
        node.ips.release(pod.ip)
        self.ctx.recorder.nnc_assigned(node, len(node.ips.assigned))
        node.node_subnet.assign_delta(-1)

    def pod_subnet(self, node: Node) -> SubnetState:
        return node.node_subnet

    def record(self, node: Node) -> None:
        # The node's own address is the NIC's primary; the secondaries never change.
        each = _secondaries(node)
        state = PoolState(each, node.ips.held, 1, 0, 0, 0, each, False, "")
        self.ctx.recorder.nnc_state(node, state)

    def pod_holdings(self, node: Node) -> list[tuple[SubnetState, list[int]]]:
        return [(node.node_subnet, node.ips.all_addresses())]

    def check_node(self, node: Node) -> str | None:
        if node.ips.held != _secondaries(node):
            return (
                f"traditional node {node.name} holds {node.ips.held} pod addresses, "
                f"not max pods {node.max_pods} less {node.unreserved} hostNetwork add-ons"
            )
        return None


def _secondaries(node: Node) -> int:
    """The NIC's pod addresses: max pods, less the hostNetwork add-on pods AKS reserves
    none for (reference §12)."""
    return node.max_pods - node.unreserved
