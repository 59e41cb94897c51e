"""``nnc.csv`` from the recorder's rows, with array operations (a long run has millions).

The recorder keeps two kinds of rows, in the order they happened: a node's pool state
(``POOL_FIELDS``) when it changes, and the node's assigned count when a pod takes or
gives back an address. A row of ``nnc.csv`` is one node and instant at which its pool
changed: the state after the instant's last change, placed where its first change was
recorded, and never a repeat of the node's previous row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simulator.model.recorder import PoolState

if TYPE_CHECKING:
    from simulator.model.entities import Node

__all__ = ["NNC_COLUMNS", "POOL_FIELDS", "nnc_frame"]

#: Column order of nnc.csv.
NNC_COLUMNS = [
    "time_s", "cluster", "node_pool", "node", "subnet", "requested_ips", "secondary_ips",
    "primary_ips", "assigned_ips", "available_ips", "pending_release_ips",
    "pending_programming_ips", "batch_size", "max_ips", "exhausted", "nc_status",
]  # fmt: skip

#: The fields of a pool row, in order (``available_ips`` is in no row: it is the
#: secondary addresses neither assigned nor pending).
POOL_FIELDS = list(PoolState._fields)


def nnc_frame(rows: list[tuple[float, Node, PoolState | int]]) -> pd.DataFrame:
    """The frame of ``nnc.csv`` from (time, node, pool state or assigned count) rows."""
    if not rows:
        return pd.DataFrame(columns=NNC_COLUMNS)
    times, nodes, values = zip(*rows, strict=True)
    known, code = _node_codes(nodes)
    # Assigned counts are ints and pool states PoolState tuples: −1 marks a pool row.
    assigned = np.fromiter(
        (-1 if type(v) is PoolState else v for v in values), dtype=np.int64, count=len(rows)
    )
    first, when, node, pool, count = _instants(code, np.asarray(times, dtype=float), assigned)
    columns, statuses = _pool_columns([v for v in values if type(v) is PoolState])
    state = [column[pool] for column in columns] + [count]
    # A row equal to the node's previous one (a change undone within the instant) goes.
    same = np.zeros(len(first), dtype=bool)
    same[1:] = node[1:] == node[:-1]
    for column in state:
        same[1:] &= column[1:] == column[:-1]
    output = np.flatnonzero(~same)
    output = output[np.argsort(first[output])]  # record indices are distinct

    frame: dict[str, object] = {"time_s": when[output]}
    at = node[output]
    for name, value in (
        ("cluster", lambda n: n.cluster),
        ("node_pool", lambda n: n.pool),
        ("node", lambda n: n.name),
        ("subnet", lambda n: (n.pod_subnet or n.node_subnet).name),
    ):
        frame[name] = np.asarray([value(n) for n in known], dtype=object)[at]
    fields = {name: column[output] for name, column in zip(POOL_FIELDS, state[:-1], strict=True)}
    fields["nc_status"] = statuses[fields["nc_status"]]
    fields["assigned_ips"] = count[output]
    fields["available_ips"] = (
        fields["secondary_ips"]
        - fields["assigned_ips"]
        - fields["pending_release_ips"]
        - fields["pending_programming_ips"]
    )
    for name in NNC_COLUMNS[5:]:
        kind = object if name == "nc_status" else bool if name == "exhausted" else np.int64
        frame[name] = np.asarray(fields[name]).astype(kind, copy=False)
    return pd.DataFrame(frame, columns=NNC_COLUMNS)


def _node_codes(nodes: tuple[Node, ...]) -> tuple[list[Node], np.ndarray]:
    """The distinct nodes (by identity) and each row's index among them."""
    ids = np.fromiter(map(id, nodes), dtype=np.int64, count=len(nodes))
    _, first, code = np.unique(ids, return_index=True, return_inverse=True)
    return [nodes[i] for i in first], code.reshape(-1)


def _instants(
    code: np.ndarray, times: np.ndarray, assigned: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One entry per node and instant with records, grouped by node in time order.

    Returns the index of the instant's first record, its time, the node's code, the
    index among the pool rows of the node's pool state after the instant, and its
    assigned count then."""
    count = len(code)
    is_pool = assigned < 0
    slot = np.cumsum(is_pool) - 1  # each pool row's index among the pool rows
    # Stable, so each node's rows keep their time order; small codes sort by radix.
    small = np.uint16 if code.max() <= np.iinfo(np.uint16).max else np.int64
    order = np.argsort(code.astype(small), kind="stable")
    c, t, rank = code[order], times[order], np.arange(count)
    new_node = np.ones(count, dtype=bool)
    new_node[1:] = c[1:] != c[:-1]
    new_instant = new_node.copy()
    new_instant[1:] |= t[1:] != t[:-1]
    node_start = np.maximum.accumulate(np.where(new_node, rank, 0))
    instant_start = np.maximum.accumulate(np.where(new_instant, rank, 0))
    # The node's latest pool row and assigned count at each record.
    pooled = is_pool[order]
    last_pool = np.maximum.accumulate(np.where(pooled, rank, -1))
    if (last_pool < node_start).any():
        raise AssertionError("a node's first NNC record must be its pool")
    last_count = np.maximum.accumulate(np.where(pooled, -1, rank))
    counts = np.where(last_count >= node_start, assigned[order][np.maximum(last_count, 0)], 0)
    # An instant's state is the one after its last record.
    last = np.ones(count, dtype=bool)
    last[:-1] = new_instant[1:]
    keep = np.flatnonzero(last)
    return (
        order[instant_start[keep]],
        t[keep],
        c[keep],
        slot[order][last_pool][keep],
        counts[keep],
    )


def _pool_columns(pools: list[PoolState]) -> tuple[list[np.ndarray], np.ndarray]:
    """The pool rows' fields as columns (``POOL_FIELDS``), the NC status as a code into
    the returned labels: there are a handful of statuses, and codes compare fast."""
    *numbers, statuses = zip(*pools, strict=True)
    labels, codes = np.unique(np.array(statuses, dtype=object), return_inverse=True)
    return [np.array(column) for column in numbers] + [codes.reshape(-1)], labels
