"""Append-only records kept while simulating; the results build frames from them once,
at the end."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from simulator.model.entities import Node
from simulator.model.subnets import Clock

if TYPE_CHECKING:
    from simulator.model.tripwire import Tripwire

__all__ = ["EventRecord", "PoolState", "Recorder"]


class EventRecord(NamedTuple):
    time_s: float
    kind: str
    cluster: str
    node_pool: str
    node: str
    subnet: str
    message: str


class PoolState(NamedTuple):
    """A node's IP pool as ``nnc.csv`` shows it, named by its columns. ``assigned_ips``
    is recorded apart (it changes with every pod) and ``available_ips`` follows from
    the others."""

    requested_ips: int  # spec.requestedIPCount (traditional: max pods)
    secondary_ips: int  # every secondary address the node's CNS knows
    primary_ips: int  # the NC's primary (traditional: the NIC's), 0 or 1
    pending_release_ips: int
    pending_programming_ips: int
    batch_size: int
    max_ips: int
    exhausted: bool  # the pod subnet's exhausted flag as CNS last saw it
    nc_status: str


class Recorder:
    """Collects node- and subnet-level events and every change of a node's IP pool."""

    def __init__(self, clock: Clock, tripwire: Tripwire | None = None) -> None:
        self._clock = clock
        self.tripwire = tripwire  # told of the events that can fail a run's checks
        self.events: list[EventRecord] = []
        # (time, node, pool state) from nnc_state and (time, node, assigned count) from
        # nnc_assigned, in the order they happened; the frame merges them.
        self.nnc: list[tuple[float, Node, PoolState | int]] = []

    def event(
        self,
        kind: str,
        message: str,
        *,
        cluster: str = "",
        node_pool: str = "",
        node: str = "",
        subnet: str = "",
        about: Node | None = None,
    ) -> None:
        self.events.append(
            EventRecord(self._clock.now, kind, cluster, node_pool, node, subnet, message)
        )
        if self.tripwire is not None and kind in self.tripwire.kinds:
            self.tripwire.saw(kind, about)

    def node_event(self, node: Node, kind: str, message: str, subnet: str = "") -> None:
        """An event about one node; the subnet defaults to the node's node subnet."""
        self.event(
            kind,
            message,
            cluster=node.cluster,
            node_pool=node.pool,
            node=node.name,
            subnet=subnet or node.node_subnet.name,
            about=node,
        )

    def nnc_state(self, node: Node, state: PoolState) -> None:
        """Record the node's pool if it changed since its last row."""
        if state == node.nnc_last:
            return
        node.nnc_last = state
        if state.requested_ips > node.peak_requested:
            node.peak_requested = state.requested_ips
        self.nnc.append((self._clock.now, node, state))

    def nnc_assigned(self, node: Node, assigned: int) -> None:
        """A pod took or gave back one of the node's addresses: ``assigned`` now.

        Only the count is kept; ``available`` follows from the pool's other counts."""
        if assigned > node.peak_assigned:
            node.peak_assigned = assigned
        self.nnc.append((self._clock.now, node, assigned))
