"""Append-only records kept while simulating; frames are built once, at the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import pandas as pd

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
        self.nnc: list[tuple[float, Node, tuple[object, ...]]] = []  # see nnc_state

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
        """Record the node's pool if anything changed since its last row.

        ``state`` holds the ``NncRecord`` fields after the node's names, from
        ``requested_ips`` to ``nc_status``."""
        last = node.nnc_last
        if last is not None and last[1] == state:
            return
        requested, assigned = state[0], state[3]
        if requested > node.peak_requested:  # type: ignore[operator]
            node.peak_requested = requested  # type: ignore[assignment]
        if assigned > node.peak_assigned:  # type: ignore[operator]
            node.peak_assigned = assigned  # type: ignore[assignment]
        now = self._clock.now
        # (time, node, state): the node's names are added once, when the frame is built.
        row = (now, node, state)
        if last is not None and self.nnc[last[0]][0] == now:
            self.nnc[last[0]] = row
            node.nnc_last = (last[0], state)
        else:
            node.nnc_last = (len(self.nnc), state)
            self.nnc.append(row)

    def nnc_rows(self) -> Iterator[tuple[object, ...]]:
        """The NNC records as full rows, in ``NNC_COLUMNS`` order."""
        for now, node, state in self.nnc:
            yield (now, node.cluster, node.pool, node.name, _pool_subnet(node), *state)

    def nnc_frame(self) -> pd.DataFrame:
        """The NNC records as a frame (``nnc.csv``), built column by column."""
        if not self.nnc:
            return pd.DataFrame(columns=NNC_COLUMNS)
        times, nodes, states = zip(*self.nnc, strict=True)
        codes: dict[Node, int] = {}
        for node in nodes:
            codes.setdefault(node, len(codes))
        known = list(codes)
        at = np.fromiter(map(codes.__getitem__, nodes), dtype=np.int64, count=len(nodes))
        columns: dict[str, object] = {"time_s": np.asarray(times, dtype=float)}
        for name, value in (
            ("cluster", lambda n: n.cluster),
            ("node_pool", lambda n: n.pool),
            ("node", lambda n: n.name),
            ("subnet", _pool_subnet),
        ):
            columns[name] = np.asarray([value(n) for n in known], dtype=object)[at]
        types = [np.int64] * (len(NNC_COLUMNS) - 7) + [bool, object]
        for name, values, kind in zip(
            NNC_COLUMNS[5:], zip(*states, strict=True), types, strict=True
        ):
            columns[name] = np.array(values, dtype=kind)
        return pd.DataFrame(columns)


def _pool_subnet(node: Node) -> str:
    return (node.pod_subnet or node.node_subnet).name
