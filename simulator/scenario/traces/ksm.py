"""kube-state-metrics pod series (``kubernetes/kube-state-metrics``,
``docs/metrics/workload/pod-metrics.md``), as the Prometheus HTTP API returns them
(``prometheus/prometheus`` ``docs/querying/api.md``: ``{status, data: {resultType,
result}}``, a matrix or a vector, or a list of such responses) or as a long CSV with one
sample per row: ``timestamp,metric,namespace,pod,uid,node,labels,value`` (``labels`` a
JSON object of the other labels).

Per pod (its ``uid``, else namespace and name; ``exported_pod`` and
``exported_namespace`` win over ``pod`` and ``namespace``, as a scrape renames them):
created is ``kube_pod_created``; scheduled is ``kube_pod_status_scheduled_time``, else
``kube_pod_start_time``; deleted is ``kube_pod_deletion_timestamp``, else
``kube_pod_completion_time``, else the last sample of the pod when that is before the
export's last sample (the pod was gone at the next scrape: times are rounded to the
scrape interval); node, host network and owner come from ``kube_pod_info``; requests are
the sum over containers of ``kube_pod_container_resource_requests`` (CPU in cores,
memory in bytes, ``nvidia_com_gpu``); the node pool from ``kube_node_labels``
(``label_kubernetes_azure_com_agentpool`` or ``label_agentpool``).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Mapping, Sequence
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

__all__ = ["read_kube_state_metrics"]

_POOL_LABELS = ("label_kubernetes_azure_com_agentpool", "label_agentpool")
_CSV_COLUMNS = ("timestamp", "metric", "value")
_PROMOTED = ("namespace", "pod", "uid", "node")

Series = tuple[str, dict[str, str], list[tuple[float, float]], str]


def _value(text: Any, where: str, source: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise InputError("not a sample value", source=source, where=where, value=text) from None


def _from_api(doc: Any, source: str) -> Iterator[Series]:
    responses = doc if isinstance(doc, list) else [doc]
    for r, response in enumerate(responses):
        at = f"[{r}]" if isinstance(doc, list) else ""
        if not isinstance(response, Mapping) or "data" not in response:
            raise InputError(
                "is not a Prometheus API response: expected the field data "
                "(from /api/v1/query_range or /api/v1/query)",
                source=source,
                where=f"{at}data" if at else "data",
            )
        if response.get("status", "success") != "success":
            raise InputError(
                "is an error response",
                source=source,
                where=f"{at}status",
                value=response.get("error") or response.get("status"),
            )
        data = response["data"]
        kind = data.get("resultType") if isinstance(data, Mapping) else None
        if kind not in ("matrix", "vector"):
            raise InputError(
                "must be matrix or vector (pod series)",
                source=source,
                where=f"{at}data.resultType",
                value=kind,
            )
        for s, item in enumerate(data.get("result") or ()):
            where = f"{at}data.result[{s}]"
            metric = dict((item or {}).get("metric") or {})
            name = metric.pop("__name__", "")
            pairs = item.get("values") if kind == "matrix" else [item.get("value")]
            samples = []
            for k, pair in enumerate(pairs or ()):
                if not isinstance(pair, Sequence) or len(pair) != 2:
                    raise InputError(
                        'a sample is [time, "value"]',
                        source=source,
                        where=f"{where}.values[{k}]",
                        value=pair,
                    )
                samples.append((_value(pair[0], where, source), _value(pair[1], where, source)))
            yield name, metric, samples, where


def _from_csv(file: Path) -> Iterator[Series]:
    with open(file, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in _CSV_COLUMNS if c not in header]
        if missing:
            raise InputError(
                f"no column {missing[0]!r}: the long CSV has timestamp, metric, namespace, "
                f"pod, uid, node, labels, value (columns: {', '.join(header) or 'none'})",
                source=file.name,
                where="header",
            )
        series: dict[tuple, Series] = {}
        for row, record in enumerate(reader, start=1):
            where = f"row {row} (line {reader.line_num})"
            labels = {k: (record.get(k) or "").strip() for k in _PROMOTED}
            text = (record.get("labels") or "").strip()
            if text:
                try:
                    extra = json.loads(text)
                except ValueError:
                    raise InputError(
                        "labels must be a JSON object",
                        source=file.name,
                        where=f"{where}, column 'labels'",
                        value=text,
                    ) from None
                if not isinstance(extra, dict):
                    raise InputError(
                        "labels must be a JSON object",
                        source=file.name,
                        where=f"{where}, column 'labels'",
                        value=text,
                    )
                labels.update({k: str(v) for k, v in extra.items()})
            labels = {k: v for k, v in labels.items() if v}
            stamp = (record.get("timestamp") or "").strip()
            try:
                ts = float(stamp)
            except ValueError:
                parsed = parse_timestamp(stamp) if stamp else None
                if parsed is None:
                    raise InputError(
                        "not a time: Unix seconds or RFC 3339",
                        source=file.name,
                        where=f"{where}, column 'timestamp'",
                        value=stamp,
                    ) from None
                ts = parsed
            value = _value(record.get("value"), f"{where}, column 'value'", file.name)
            metric = (record.get("metric") or "").strip()
            key = (metric, tuple(sorted(labels.items())))
            if key not in series:
                series[key] = (metric, labels, [], where)
            series[key][2].append((ts, value))
        yield from series.values()


def _pod_key(labels: Mapping[str, str]) -> tuple[str, str] | None:
    pod = labels.get("exported_pod") or labels.get("pod")
    if not pod:
        return None
    namespace = labels.get("exported_namespace") or labels.get("namespace") or "default"
    return f"{namespace}/{pod}", labels.get("uid", "")


def read_kube_state_metrics(file: Path, options: ReadOptions) -> PodTable:
    """The pods of a kube-state-metrics export."""
    source = file.name
    with open(file, "rb") as handle:
        first = handle.read(4096).lstrip()[:1]
    if first in (b"{", b"["):
        try:
            doc = json.loads(file.read_bytes())
        except (ValueError, RecursionError) as exc:
            raise InputError(f"is not valid JSON: {exc}", source=source) from None
        series = _from_api(doc, source)
    else:
        series = _from_csv(file)
    pods: dict[tuple[str, str], dict[str, Any]] = {}
    node_pool: dict[str, str] = {}
    start, end = math.inf, -math.inf
    for metric, labels, samples, _where in series:
        values = [(t, v) for t, v in samples if not math.isnan(v)]
        for t, _ in samples:
            start, end = min(start, t), max(end, t)
        if metric == "kube_node_labels":
            pool = next((labels[k] for k in _POOL_LABELS if labels.get(k)), "")
            if labels.get("node") and pool:
                node_pool[labels["node"]] = pool
            continue
        key = _pod_key(labels)
        if key is None or not metric.startswith("kube_pod"):
            continue
        pod = pods.setdefault(key, {"row": len(pods) + 1, "last": -math.inf, "requests": {}})
        if samples:
            pod["last"] = max(pod["last"], max(t for t, _ in samples))
        latest = values[-1][1] if values else None
        if metric == "kube_pod_created" and latest is not None:
            pod["created"] = latest
        elif metric == "kube_pod_deletion_timestamp" and latest is not None:
            pod["deleted"] = min(pod.get("deleted", math.inf), values[0][1])
        elif metric == "kube_pod_completion_time" and latest is not None:
            pod["completed"] = latest
        elif metric == "kube_pod_status_scheduled_time" and latest is not None:
            pod["scheduled"] = latest
        elif metric == "kube_pod_start_time" and latest is not None:
            pod.setdefault("started", latest)
        elif metric == "kube_pod_info":
            for label in ("node", "host_network", "created_by_name"):
                if labels.get(label):
                    pod[label] = labels[label]
        elif metric == "kube_pod_container_resource_requests" and latest is not None:
            resource = labels.get("resource", "")
            container = labels.get("container", "")
            pod["requests"][(resource, container)] = latest
    if not pods:
        raise InputError(
            "holds no pod series (kube_pod_created, kube_pod_info, ...): not a "
            "kube-state-metrics export",
            source=source,
        )
    names: list[str] = []
    counts: dict[str, int] = {}
    for name, _uid in pods:
        counts[name] = counts.get(name, 0) + 1
    for name, uid in pods:  # a name reused by a later pod: told apart by its uid
        names.append(name if counts[name] == 1 else f"{name}#{uid[:8] or len(names)}")
    entries = list(pods.values())

    def times(key: str) -> np.ndarray:
        return np.array([e.get(key, math.nan) for e in entries], dtype=float)

    deleted = times("deleted")
    completed = times("completed")
    last = np.array([e["last"] for e in entries], dtype=float)
    deleted = np.where(np.isnan(deleted), completed, deleted)
    deleted = np.where(np.isnan(deleted) & (last < end), last, deleted)
    scheduled = times("scheduled")
    scheduled = np.where(np.isnan(scheduled), times("started"), scheduled)

    def requests(resource: str, scale: float) -> np.ndarray:
        out = []
        for e in entries:
            got = [v for (r, _c), v in e["requests"].items() if r == resource]
            out.append(round(sum(got) * scale) if got else -1)
        return np.array(out, dtype=np.int64)

    node = [e.get("node", "") for e in entries]
    host = np.array(
        [-1 if "host_network" not in e else int(e["host_network"] == "true") for e in entries],
        dtype=np.int8,
    )
    problems = Problems(
        source, np.array([e["row"] for e in entries]), drop=options.drop_bad, row_word="pod"
    )
    return assemble(
        problems,
        {},
        names=names,
        created=times("created"),
        scheduled=scheduled,
        deleted=deleted,
        cpu=requests("cpu", 1000.0),
        memory=requests("memory", 1 / 1024**2),
        gpu=requests("nvidia_com_gpu", 1.0),
        node=node,
        pool=[node_pool.get(n, "") for n in node],
        group=[e.get("created_by_name", "") for e in entries],
        host_network=host,
        max_per_node=np.zeros(len(entries), dtype=np.int64),
        absolute=True,
        start=start if math.isfinite(start) else None,
        end=end if math.isfinite(end) else None,
        scheduling_known=True,
    )
