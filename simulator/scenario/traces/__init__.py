"""Pod traces a ``kind: trace`` workload replays: one reader per format (the table of
formats is :data:`FORMATS`), the generic pod table they all read into, and the replay
plan of one trace in one cluster.

A trace is a data file next to the scenario, like an empirical lifetime's CSV: it is
read, checked and placed when the scenario loads (so a scenario that loads is one that
replays), and the model asks for the same plan again. Both are kept per file version
(path, size, modification time) and options, so a file is read once per process.
Readers use the standard library (``csv``, ``json``), numpy, msgpack and, for Parquet,
pyarrow: no pandas, as everywhere in the scenario layer.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

from simulator.scenario.traces.formats import (
    FORMATS,
    MAX_TRACE_BYTES,
    TraceFormat,
    detect_format,
    read,
)
from simulator.scenario.traces.replay import Cluster, ReplayPlan, Workload, plan_replay
from simulator.scenario.traces.table import FIELDS, PodTable

__all__ = [
    "FIELDS",
    "FORMATS",
    "MAX_TRACE_BYTES",
    "PodTable",
    "ReplayPlan",
    "TraceFormat",
    "detect_format",
    "read",
    "read_source",
    "replay_plan",
]

_KEEP = 4  # plans (and tables) kept: a scenario's traces, and a variant or two
_tables: OrderedDict[tuple, PodTable] = OrderedDict()
_plans: OrderedDict[tuple, ReplayPlan] = OrderedDict()


def _remember(cache: OrderedDict, key: tuple, make) -> Any:
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = cache[key] = make()
    while len(cache) > _KEEP:
        cache.popitem(last=False)
    return value


def _version(file: Path) -> tuple[str, int, int]:
    stat = file.stat()
    return str(file.resolve()), stat.st_size, stat.st_mtime_ns


def read_source(w: Workload, file: Path) -> PodTable:
    """The pod table of trace workload ``w`` (its ``source``), from ``file``."""
    source = w.source
    assert source is not None
    options = (
        source.format,
        source.columns.model_dump_json(),
        source.units.model_dump_json(),
        source.bad_rows,
    )
    return _remember(
        _tables,
        (_version(file), options),
        lambda: read(
            file,
            source.format,
            columns=source.columns.model_dump(),
            units=source.units.model_dump(),
            drop_bad=source.bad_rows == "drop",
        ),
    )


def replay_plan(w: Workload, file: Path, cluster: Cluster, path: str) -> ReplayPlan:
    """The replay of trace workload ``w`` in ``cluster``; ``path`` names the workload
    in errors (a plan made once is not made again: its errors were raised then)."""
    table = read_source(w, file)
    keys = w.model_dump(
        mode="json",
        include={
            "source",
            "placement",
            "requests",
            "host_network",
            "termination_grace",
            "node_pools",
            "name",
        },
    )
    room = [
        (p.name, p.count, p.vm_size, p.allocatable and p.allocatable.model_dump_json())
        for p in cluster.node_pools
    ]
    key = (
        _version(file),
        json.dumps(keys, sort_keys=True),
        cluster.name,
        json.dumps(room),
        cluster.timings.model_dump_json(),
    )
    return _remember(_plans, key, lambda: plan_replay(table, w, cluster, path))
