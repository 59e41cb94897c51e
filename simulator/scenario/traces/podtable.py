"""The generic pod table as CSV (``pod-csv``) or Parquet (``pod-parquet``), and the
Alibaba GPU-cluster traces as presets of it (``alibaba-openb``, ``alibaba-dlrm``).

A preset is the table with other column names and units: openb (``alibaba/clusterdata``,
``cluster-trace-gpu-v2023``) gives millicores and MiB, DLRM (``cluster-trace-gpu-v2025``)
cores and GiB, with float noise in its times (rounded to the second) and an empty
creation time for instances that existed before the trace began.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import InputError
from simulator.scenario.traces.table import (
    PodTable,
    Problems,
    ReadOptions,
    assemble,
    parse_amounts,
    parse_cpu,
    parse_flags,
    parse_memory,
    parse_times,
    texts,
)

__all__ = [
    "PARQUET_MARK",
    "read_pod_csv",
    "read_pod_parquet",
    "table_from_columns",
    "write_table",
    "written_by_ipsim",
]

#: CSV cells larger than this are refused (the csv module's own guard, raised from 128 KiB).
_FIELD_LIMIT = 1 << 20


def _lines(file: Path) -> list[int]:
    """The line each record of a CSV file ends on (read again, only to name a bad row:
    a quoted cell may span lines)."""
    with open(file, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        return [reader.line_num for record in reader if record and any(c.strip() for c in record)]


class _LazyLines:
    """Line numbers, worked out the first time one is asked for."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._lines: list[int] | None = None

    def __getitem__(self, i: int) -> int:
        if self._lines is None:
            self._lines = _lines(self.file)
        return self._lines[i]


def read_pod_csv(file: Path, options: ReadOptions) -> PodTable:
    """A CSV pod table with a header row (the file's columns named by ``options``)."""
    csv.field_size_limit(_FIELD_LIMIT)
    try:
        with open(file, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise InputError("is empty: a pod table needs a header row", source=file.name)
            header = [h.strip() for h in header]
            width = len(header)
            # A blank line is no row.
            records = [r for r in reader if r and (len(r) > 1 or r[0].strip())]
    except UnicodeDecodeError as exc:
        raise InputError(
            f"is not UTF-8 text (bad byte at offset {exc.start})", source=file.name
        ) from None
    except csv.Error as exc:
        raise InputError(f"is not valid CSV: {exc}", source=file.name) from None
    lines = _LazyLines(file)
    for i, record in enumerate(records):
        if len(record) != width:
            raise InputError(
                f"has {len(record)} cells but the header has {width}",
                source=file.name,
                where=f"row {i + 1} (line {lines[i]})",
            )
    cells = list(zip(*records, strict=True)) if records else [() for _ in header]
    columns = {h: list(c) for h, c in zip(header, cells, strict=True)}
    return table_from_columns(file.name, header, columns, len(records), options, lines)


def read_pod_parquet(file: Path, options: ReadOptions) -> PodTable:
    """A Parquet pod table (read with pyarrow: numbers, strings and timestamps)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(file)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"is not a readable Parquet file: {exc}", source=file.name) from None
    header = list(table.column_names)
    columns = {name: table.column(name).to_pylist() for name in header}
    return table_from_columns(file.name, header, columns, table.num_rows, options)


def table_from_columns(
    source: str,
    header: list[str],
    columns: dict[str, list[Any]],
    count: int,
    options: ReadOptions,
    lines: Any = None,
) -> PodTable:
    """Build the pod table from the file's columns, as ``options`` maps them."""
    wanted = options.columns
    for need in ("name", "created"):
        if wanted[need] not in columns:
            raise InputError(
                f"no column {wanted[need]!r} for the pods' {need} (columns: "
                f"{', '.join(header) or 'none'}); map it with source.columns.{need}",
                source=source,
                where="header",
            )
    for key, column in options.given.items():
        if column not in columns:
            raise InputError(
                f"no column {column!r} (source.columns.{key}); the file's columns: "
                f"{', '.join(header)}",
                source=source,
                where="header",
            )
    rows = np.arange(1, count + 1)
    problems = Problems(source, rows, drop=options.drop_bad, lines=lines)
    used = {k: c for k, c in wanted.items() if c in columns}

    def col(key: str) -> list[Any] | None:
        return columns.get(used[key]) if key in used else None

    scale = options.time_scale
    times = {}
    kinds = set()
    for key in ("created", "scheduled", "deleted"):
        values = col(key)
        if values is None:
            times[key] = np.full(count, math.nan)
            continue
        times[key], kind = parse_times(values, used[key], problems, scale=scale)
        if kind is not None:
            kinds.add(kind)
    if len(kinds) > 1:
        raise InputError(
            "its time columns mix timestamps and seconds; give one or the other", source=source
        )
    if options.round_times:
        for key in times:
            times[key] = np.round(times[key])
    cpu_unit, memory_unit = options.units["cpu"], options.units["memory"]

    def amounts(key: str, parse, what: str, scale: float) -> np.ndarray:
        values = col(key)
        if values is None:
            return np.full(count, -1, dtype=np.int64)
        if key == "max_per_node":  # -1: no cap (DLRM's max_instance_per_node)
            values = [0 if str(v).strip() in ("-1", "-1.0") else v for v in values]
        return parse_amounts(values, used[key], problems, parse, what, scale=scale)

    cpu = amounts(
        "cpu",
        lambda v: parse_cpu(v, cpu_unit),
        "CPU such as 250m or 0.5",
        1000.0 if cpu_unit == "cores" else 1.0,
    )
    memory = amounts(
        "memory",
        lambda v: parse_memory(v, memory_unit),
        "memory such as 512Mi or a number",
        {"bytes": 1 / 1024**2, "KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0}[memory_unit],
    )
    gpu = amounts("gpu", lambda v: None, "a whole number of GPUs", 1.0)
    cap = amounts("max_per_node", lambda v: None, "a whole number of pods", 1.0)
    host = (
        parse_flags(col("host_network"), used["host_network"], problems)
        if "host_network" in used
        else np.full(count, -1, dtype=np.int8)
    )
    return assemble(
        problems,
        used,
        names=texts(col("name"), count),
        created=times["created"],
        scheduled=times["scheduled"],
        deleted=times["deleted"],
        cpu=cpu,
        memory=memory,
        gpu=gpu,
        node=texts(col("node"), count),
        pool=texts(col("pool"), count),
        group=_group(texts(col("group"), count), columns.get(options.group_with or "")),
        host_network=host,
        max_per_node=np.maximum(cap, 0),
        absolute=kinds == {True},
        scheduling_known="scheduled" in used,
        dropped=Counter(),
    )


def _group(groups: list[str], extra: list[Any] | None) -> list[str]:
    """The group, joined with a second column where the format has one (DLRM's app and
    role: an app's CPU and GPU instances have caps of their own)."""
    if extra is None:
        return groups
    return [
        f"{g}/{x}" if g and x else g for g, x in zip(groups, texts(extra, len(groups)), strict=True)
    ]


def _generic_columns(table: PodTable) -> dict[str, list[Any]]:
    """The table as the generic format's columns: times in seconds (or ISO 8601 UTC
    timestamps when the trace gave timestamps), CPU in cores, memory in MiB."""
    from datetime import datetime, timezone

    def time(values: np.ndarray) -> list[Any]:
        if not table.absolute:
            return [None if math.isnan(v) else float(v) for v in values]
        return [
            None
            if math.isnan(v)
            else datetime.fromtimestamp(float(v), tz=timezone.utc)
            .isoformat()
            .replace("+00:00", "Z")
            for v in values
        ]

    def amount(values: np.ndarray, scale: float = 1.0) -> list[Any]:
        return [None if v < 0 else (float(v) / scale if scale != 1 else int(v)) for v in values]

    return {
        "name": list(table.names),
        "created": time(table.created),
        "scheduled": time(table.scheduled),
        "deleted": time(table.deleted),
        "cpu": amount(table.cpu, 1000.0),
        "memory": amount(table.memory),
        "gpu": amount(table.gpu),
        "node": [n or None for n in table.node],
        "pool": [p or None for p in table.pool],
        "group": [g or None for g in table.group],
        "host_network": [None if h < 0 else bool(h) for h in table.host_network],
        "max_per_node": [int(c) or None for c in table.max_per_node],
    }


#: The schema metadata of a Parquet pod table ipsim wrote (``--force`` may replace it).
PARQUET_MARK = {b"written_by": b"ipsim trace convert"}


def written_by_ipsim(path: Path) -> bool:
    """Whether ``path`` is a Parquet pod table that ``ipsim trace convert`` wrote. A CSV
    pod table carries no mark (the format has no place for one): it is never taken for
    ipsim's, so ``--force`` never replaces one."""
    try:
        import pyarrow.parquet as pq

        metadata = pq.read_schema(path).metadata or {}
    except Exception:  # not Parquet, unreadable: not ours
        return False
    return metadata.get(b"written_by") == PARQUET_MARK[b"written_by"]


def write_table(table: PodTable, path: Path, *, parquet: bool) -> None:
    """Write ``table`` in the generic format (``pod-csv``, or ``pod-parquet``): reading
    the file back gives the same pods. A trace that does not say when pods were
    scheduled gets no ``scheduled`` column (the reader then binds pods when created)."""
    columns = _generic_columns(table)
    if not table.scheduling_known:
        del columns["scheduled"]
    if parquet:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(columns).replace_schema_metadata(PARQUET_MARK), path)
        return
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(columns))
        for row in zip(*columns.values(), strict=True):
            writer.writerow(
                [
                    "" if v is None else ("true" if v is True else "false" if v is False else v)
                    for v in row
                ]
            )
