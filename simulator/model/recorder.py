"""Append-only records kept while simulating; the results build frames from them once,
at the end."""

from __future__ import annotations

from typing import NamedTuple

from simulator.model.entities import Node
from simulator.model.subnets import Clock

__all__ = ["EventRecord", "Recorder"]


class EventRecord(NamedTuple):
    time_s: float
    kind: str
    cluster: str
    node_pool: str
    node: str
    subnet: str
    message: str


class Recorder:
    """Collects node- and subnet-level events and every change of a node's IP pool."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.events: list[EventRecord] = []
        # (time, node, pool state) from nnc_state and (time, node, assigned count) from
        # nnc_assigned, in the order they happened; the frame merges them.
        self.nnc: list[tuple[float, Node, object]] = []

    def event(
        self,
        kind: str,
        message: str,
        *,
        cluster: str = "",
        node_pool: str = "",
        node: str = "",
        subnet: str = "",
    ) -> None:
        self.events.append(
            EventRecord(self._clock.now, kind, cluster, node_pool, node, subnet, message)
        )

    def node_event(self, node: Node, kind: str, message: str, subnet: str = "") -> None:
        """An event about one node; the subnet defaults to the node's node subnet."""
        self.event(
            kind,
            message,
            cluster=node.cluster,
            node_pool=node.pool,
            node=node.name,
            subnet=subnet or node.node_subnet.name,
        )

    def nnc_state(self, node: Node, state: tuple[object, ...]) -> None:
        """Record the node's pool (``results.nnc_frame.POOL_FIELDS``) if it changed since its last
        row."""
        if state == node.nnc_last:
            return
        node.nnc_last = state
        requested = state[0]
        if requested > node.peak_requested:  # type: ignore[operator]
            node.peak_requested = requested  # type: ignore[assignment]
        self.nnc.append((self._clock.now, node, state))

    def nnc_assigned(self, node: Node, assigned: int) -> None:
        """A pod took or gave back one of the node's addresses: ``assigned`` now.

        Only the count is kept; ``available`` follows from the pool's other counts."""
        if assigned > node.peak_assigned:
            node.peak_assigned = assigned
        self.nnc.append((self._clock.now, node, assigned))
