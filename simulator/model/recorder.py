"""Append-only records kept while simulating; frames are built once, at the end."""

from __future__ import annotations

from typing import NamedTuple

from .entities import Node
from .subnets import Clock

__all__ = ["NNC_COLUMNS", "EventRecord", "NncRecord", "Recorder"]


class EventRecord(NamedTuple):
    time_s: float
    kind: str
    cluster: str
    node_pool: str
    node: str
    subnet: str
    message: str


class NncRecord(NamedTuple):
    time_s: float
    cluster: str
    node_pool: str
    node: str
    subnet: str
    requested_ips: int
    secondary_ips: int
    primary_ips: int
    assigned_ips: int
    available_ips: int
    pending_release_ips: int
    pending_programming_ips: int
    batch_size: int
    max_ips: int
    exhausted: bool
    nc_status: str


#: Column order of nnc.csv.
NNC_COLUMNS = list(NncRecord._fields)


class Recorder:
    """Collects node- and subnet-level events and every change of a node's IP pool."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.events: list[EventRecord] = []
        self.nnc: list[tuple[object, ...]] = []  # NncRecord fields, as plain tuples

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

    def nnc_state(
        self,
        node: Node,
        requested: int,
        nc_status: str,
        *,
        primary: int,
        batch: int,
        max_ips: int,
        exhausted: bool = False,
    ) -> None:
        """Record the node's pool if anything changed since its last row."""
        ips = node.ips
        assigned = len(ips.assigned)
        full = (
            requested,
            ips.held,
            primary,
            assigned,
            len(ips.available),
            len(ips.pending_release),
            len(ips.pending_programming),
            batch,
            max_ips,
            exhausted,
            nc_status,
        )
        last = node.nnc_last
        if last is not None and last[1] == full:
            return
        if requested > node.peak_requested:
            node.peak_requested = requested
        if assigned > node.peak_assigned:
            node.peak_assigned = assigned
        now = self._clock.now
        # Plain tuples, not NncRecord objects: a long run records millions of rows.
        row = (now, node.cluster, node.pool, node.name, (node.pod_subnet or node.node_subnet).name)
        row += full
        if last is not None and self.nnc[last[0]][0] == now:
            self.nnc[last[0]] = row
            node.nnc_last = (last[0], full)
        else:
            node.nnc_last = (len(self.nnc), full)
            self.nnc.append(row)
