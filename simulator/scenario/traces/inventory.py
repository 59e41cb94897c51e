"""Container Insights ``KubePodInventory`` rows (``MicrosoftDocs/azure-reference-other``,
``azure-monitor-ref/tables/kubepodinventory.md``), exported from Log Analytics as CSV
(the portal's export: header names may end in `` [UTC]``, times in ISO 8601 or the
portal's ``3/19/2024, 11:49:00.000 PM``) or as the query API's JSON (``{"tables":
[{"columns": [...], "rows": [...]}]}``, or a list of row objects as
``az monitor log-analytics query`` prints it).

The agent writes one row per container per pod every collection (60 s), so a pod is
many rows (``PodUid``, else namespace and name). Created is ``PodCreationTimeStamp``;
scheduled ``PodStartTime`` (empty while the pod has not started); node ``Computer``;
group ``ControllerName``; deleted the first collection that saw it ``Terminating``,
``Succeeded`` or ``Failed``, else its last collection when that is before the export's
last one (it was gone at the next: times are rounded to the collection interval). The
table holds no requests.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import InputError
from simulator.scenario.traces.table import (
    PodTable,
    Problems,
    ReadOptions,
    assemble,
    parse_timestamp,
)

__all__ = ["read_kube_pod_inventory"]

_NEEDED = ("TimeGenerated", "Name", "PodCreationTimeStamp", "PodStatus")
_ENDED = ("Terminating", "Succeeded", "Failed")


def _column(name: str) -> str:
    """A header as the table names it: the portal adds ``[UTC]`` or ``[Local Time]``."""
    name = name.strip().strip('"')
    if name.endswith("]") and " [" in name:
        name = name[: name.rindex(" [")]
    return name


def _rows(file: Path) -> tuple[list[str], Iterator[tuple[str, dict[str, Any]]]]:
    with open(file, "rb") as handle:
        first = handle.read(4096).lstrip()[:1]
    if first in (b"{", b"["):
        try:
            doc = json.loads(file.read_bytes())
        except (ValueError, RecursionError) as exc:
            raise InputError(f"is not valid JSON: {exc}", source=file.name) from None
        if isinstance(doc, Mapping):
            tables = doc.get("tables")
            if not isinstance(tables, list) or not tables:
                raise InputError(
                    "is not a Log Analytics query result: expected the field tables",
                    source=file.name,
                    where="tables",
                )
            table = tables[0]
            header = [_column(str(c.get("name", ""))) for c in table.get("columns") or ()]
            records = (
                (f"rows[{i}]", dict(zip(header, row, strict=False)))
                for i, row in enumerate(table.get("rows") or ())
            )
            return header, records
        if isinstance(doc, list) and all(isinstance(r, Mapping) for r in doc):
            header = [_column(k) for k in (doc[0] if doc else {})]
            return header, (
                (f"[{i}]", {_column(k): v for k, v in r.items()}) for i, r in enumerate(doc)
            )
        raise InputError("is not a Log Analytics query result", source=file.name)
    handle = open(file, newline="", encoding="utf-8-sig")  # noqa: SIM115 (closed below)
    reader = csv.reader(handle)
    raw = next(reader, [])
    local = [h for h in raw if h.strip().endswith("[Local Time]")]
    if local:
        handle.close()
        raise InputError(
            "gives its times in local time: export them in UTC (the portal's time zone "
            "setting), so that they are unambiguous",
            source=file.name,
            where="header",
            value=local[0],
        )
    header = [_column(h) for h in raw]

    def records() -> Iterator[tuple[str, dict[str, Any]]]:
        with handle:
            for i, row in enumerate(reader, start=1):
                if row:
                    yield f"row {i} (line {reader.line_num})", dict(zip(header, row, strict=False))

    return header, records()


def _time(record: dict[str, Any], column: str, where: str, source: str) -> float:
    text = record.get(column)
    if text is None or (isinstance(text, str) and not text.strip()):
        return math.nan
    stamp = parse_timestamp(str(text))
    if stamp is None:
        raise InputError(
            "not a time: ISO 8601 or the portal's M/D/YYYY, h:mm:ss AM form",
            source=source,
            where=f"{where}, column {column!r}",
            value=text,
        )
    return stamp


def read_kube_pod_inventory(file: Path, options: ReadOptions) -> PodTable:
    """The pods of a KubePodInventory export."""
    source = file.name
    header, records = _rows(file)
    missing = [c for c in _NEEDED if c not in header]
    if missing:
        raise InputError(
            f"no column {missing[0]!r}: not a KubePodInventory export (columns: "
            f"{', '.join(header) or 'none'})",
            source=source,
            where="header",
        )
    pods: dict[str, dict[str, Any]] = {}
    end = -math.inf
    start = math.inf
    for where, record in records:
        seen = _time(record, "TimeGenerated", where, source)
        if math.isnan(seen):
            raise InputError("is empty", source=source, where=f"{where}, column 'TimeGenerated'")
        start, end = min(start, seen), max(end, seen)
        name = f"{record.get('Namespace') or 'default'}/{record.get('Name') or ''}"
        key = str(record.get("PodUid") or "") or name
        pod = pods.get(key)
        if pod is None:
            pod = pods[key] = {
                "name": name,
                "uid": record.get("PodUid") or "",
                "row": len(pods) + 1,
                "first": seen,
                "last": seen,
            }
        pod["first"] = min(pod["first"], seen)
        pod["last"] = max(pod["last"], seen)
        if "created" not in pod:
            created = _time(record, "PodCreationTimeStamp", where, source)
            if not math.isnan(created):
                pod["created"] = created
        started = (
            _time(record, "PodStartTime", where, source) if "PodStartTime" in header else math.nan
        )
        if not math.isnan(started):
            pod["scheduled"] = min(pod.get("scheduled", math.inf), started)
        if record.get("Computer"):
            pod["node"] = str(record["Computer"])
        if record.get("ControllerName"):
            pod["group"] = str(record["ControllerName"])
        if str(record.get("PodStatus") or "") in _ENDED:
            pod["ended"] = min(pod.get("ended", math.inf), seen)
    if not pods:
        raise InputError("holds no rows", source=source)
    entries = list(pods.values())
    counts: dict[str, int] = {}
    for e in entries:
        counts[e["name"]] = counts.get(e["name"], 0) + 1
    names = [
        e["name"] if counts[e["name"]] == 1 else f"{e['name']}#{str(e['uid'])[:8]}" for e in entries
    ]

    def times(key: str) -> np.ndarray:
        return np.array([e.get(key, math.nan) for e in entries], dtype=float)

    last = times("last")
    deleted = times("ended")
    deleted = np.where(np.isnan(deleted) & (last < end), last, deleted)
    count = len(entries)
    problems = Problems(
        source, np.array([e["row"] for e in entries]), drop=options.drop_bad, row_word="pod"
    )
    return assemble(
        problems,
        {},
        names=names,
        created=times("created"),
        scheduled=times("scheduled"),
        deleted=deleted,
        cpu=np.full(count, -1, dtype=np.int64),
        memory=np.full(count, -1, dtype=np.int64),
        gpu=np.full(count, -1, dtype=np.int64),
        node=[e.get("node", "") for e in entries],
        pool=[""] * count,
        group=[e.get("group", "") for e in entries],
        host_network=np.full(count, -1, dtype=np.int8),
        max_per_node=np.zeros(count, dtype=np.int64),
        absolute=True,
        start=start,
        end=end,
        scheduling_known="PodStartTime" in header,
    )
