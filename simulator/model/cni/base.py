"""The interface every CNI mode implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from simulator.core.modes import NodeLoad, Space
from simulator.model.context import ModelContext

if TYPE_CHECKING:
    from simulator.model.entities import Node, Pod
    from simulator.model.subnets import SubnetState

__all__ = ["CniMode"]


class CniMode(ABC):
    """How a cluster's nodes and pods get addresses.

    The model calls these hooks; the mode takes and returns addresses in subnets and
    records each node's pool. A mode never moves pods or nodes itself.
    """

    #: The name used in scenario files.
    name: str

    def __init__(self, ctx: ModelContext) -> None:
        self.ctx = ctx

    @abstractmethod
    def node_created(self, node: Node) -> bool:
        """A VM is being created: take its node-level addresses; False if the subnet is full."""

    @abstractmethod
    def node_ready(self, node: Node) -> None:
        """The node has registered and its node agent starts."""

    @abstractmethod
    def node_deleted(self, node: Node) -> None:
        """The node is gone (its pods already evicted): give every address back."""

    @abstractmethod
    def assign(self, pod: Pod) -> int | None:
        """CNI ADD for a pod bound to a node: an address (counted as assigned in its
        subnet), or None when none is available."""

    @abstractmethod
    def release(self, pod: Pod) -> None:
        """The pod's address is free again on its node (and no longer assigned)."""

    @abstractmethod
    def pod_subnet(self, node: Node) -> SubnetState:
        """The subnet the node's pod addresses come from."""

    def vm_needs(self, load: NodeLoad) -> tuple[tuple[Space, int, int], ...]:
        """What a new VM takes when it is created, space by space: (space, units,
        addresses per unit). A scale set creates its VMs all or nothing against these."""
        return ((Space.NODE_SUBNET, 1, 1),)

    #: Whether the mode wants ``demand_changed`` (the model skips the call otherwise: it
    #: would come three times in every pod's life).
    watches_demand = False

    def demand_changed(self, node: Node) -> None:  # noqa: B027 (optional hook)
        """A pod was bound to ``node`` or is gone from it (if ``watches_demand``)."""

    @abstractmethod
    def record(self, node: Node) -> None:
        """Append the node's pool state to the NNC records if it changed."""

    # --- invariants (simulator.model.invariants) -------------------------------------

    @abstractmethod
    def pod_holdings(self, node: Node) -> list[tuple[SubnetState, list[int]]]:
        """Every pod address a live node holds, subnet by subnet (its node IP aside)."""

    def check_node(self, node: Node) -> str | None:
        """A rule of this mode that a live node breaks, as a sentence, or None."""
        return None

    def check_at_rest(
        self, last_row: dict[str, float], quiet: float | None
    ) -> tuple[int, str | None]:
        """Rules that hold once a node's pool has been quiet for ``quiet`` seconds
        (``last_row``: each node's last pool record). Returns how many nodes were
        checked and a broken rule, or None."""
        return 0, None
