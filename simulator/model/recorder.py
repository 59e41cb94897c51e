"""Append-only records kept while simulating; frames are built once, at the end."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .entities import Node
from .subnets import Clock

__all__ = ["NNC_COLUMNS", "POOL_FIELDS", "EventRecord", "NncRecord", "Recorder"]


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
        """Record the node's pool (``POOL_FIELDS``) if it changed since its last row."""
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

    def nnc_frame(self) -> pd.DataFrame:
        """The NNC records as ``nnc.csv``: one row per node and instant at which its pool
        changed, holding the pool as it was at the end of that instant."""
        return _nnc_frame(self.nnc)


#: The pool fields ``nnc_state`` records, in order; the assigned count is recorded
#: apart (``nnc_assigned``) and ``available_ips`` is what neither holds.
POOL_FIELDS = [
    "requested_ips", "secondary_ips", "primary_ips", "pending_release_ips",
    "pending_programming_ips", "batch_size", "max_ips", "exhausted", "nc_status",
]  # fmt: skip


def _nnc_frame(rows: list[tuple[float, Node, object]]) -> pd.DataFrame:
    # Vectorised: a long run records millions of rows. Each node's rows are in time
    # order in ``rows``; a stable sort by node keeps that order within each node.
    if not rows:
        return pd.DataFrame(columns=NNC_COLUMNS)
    times_in, nodes, values = zip(*rows, strict=True)
    count = len(rows)
    # Nodes by identity: one code per node object, in no particular order.
    ids = np.fromiter(map(id, nodes), dtype=np.int64, count=count)
    _, first, code = np.unique(ids, return_index=True, return_inverse=True)
    known = [nodes[i] for i in first]
    code = code.reshape(-1)
    times = np.asarray(times_in, dtype=float)
    # Assigned counts are ints and pool states tuples: −1 marks a pool row.
    assigned_in = np.fromiter(
        (-1 if type(v) is tuple else v for v in values), dtype=np.int64, count=count
    )
    is_pool = assigned_in < 0
    pools = [v for v in values if type(v) is tuple]
    slot = np.cumsum(is_pool) - 1  # each pool row's index in ``pools``

    order = np.argsort(code, kind="stable")
    c, t, rank = code[order], times[order], np.arange(count)
    new_node = np.ones(count, dtype=bool)
    new_node[1:] = c[1:] != c[:-1]
    new_instant = new_node.copy()
    new_instant[1:] |= t[1:] != t[:-1]
    node_start = np.maximum.accumulate(np.where(new_node, rank, 0))
    instant_start = np.maximum.accumulate(np.where(new_instant, rank, 0))
    # The latest pool row and assigned count of the node at each row.
    last_pool = np.maximum.accumulate(np.where(is_pool[order], rank, -1))
    if (last_pool < node_start).any():
        raise AssertionError("a node's first NNC record must be its pool")
    last_assigned = np.maximum.accumulate(np.where(is_pool[order], -1, rank))
    assigned = np.where(
        last_assigned >= node_start, assigned_in[order][np.maximum(last_assigned, 0)], 0
    )
    pool_at = slot[order][last_pool]
    # One row per node and instant: its state after the instant's last change, placed
    # where the instant's first change was recorded.
    last_of_instant = np.ones(count, dtype=bool)
    last_of_instant[:-1] = new_instant[1:]
    keep = np.flatnonzero(last_of_instant)
    position = order[instant_start[keep]]
    *numbers, statuses = zip(*pools, strict=True)
    labels = sorted(set(statuses))  # a few NC states: keep codes, not millions of strings
    status_code = dict(zip(labels, range(len(labels)), strict=True))
    pool_columns = [np.array(column) for column in numbers]
    pool_columns.append(np.fromiter(map(status_code.__getitem__, statuses), dtype=np.int64))
    state = [column[pool_at[keep]] for column in pool_columns] + [assigned[keep]]
    # Drop a row that repeats the node's previous row (a change undone in the instant).
    same = instant_start[keep] != node_start[keep]  # not the node's first instant
    for column in state:
        same[1:] &= column[1:] == column[:-1]
    keep, position = keep[~same], position[~same]
    state = [column[~same] for column in state]
    output = np.argsort(position, kind="stable")

    at = c[keep][output]
    frame: dict[str, object] = {"time_s": t[keep][output]}
    for name, value in (
        ("cluster", lambda n: n.cluster),
        ("node_pool", lambda n: n.pool),
        ("node", lambda n: n.name),
        ("subnet", lambda n: (n.pod_subnet or n.node_subnet).name),
    ):
        frame[name] = np.asarray([value(n) for n in known], dtype=object)[at]
    fields = dict(zip(POOL_FIELDS, (column[output] for column in state[:-1]), strict=True))
    fields["assigned_ips"] = state[-1][output]
    fields["available_ips"] = (
        fields["secondary_ips"]
        - fields["assigned_ips"]
        - fields["pending_release_ips"]
        - fields["pending_programming_ips"]
    )
    fields["nc_status"] = np.array(labels, dtype=object)[fields["nc_status"]]
    for name in NNC_COLUMNS[5:]:
        kind = object if name == "nc_status" else bool if name == "exhausted" else np.int64
        frame[name] = np.asarray(fields[name]).astype(kind, copy=False)
    return pd.DataFrame(frame, columns=NNC_COLUMNS)
