"""SimKube trace v2 (``acrlabs/simkube``, ``docs/ref/trace-files.md``): msgpack on disk,
JSON in its test data.

A trace is ``{version: 2, config, events: [{ts, applied_objs, deleted_objs}], index,
pod_lifecycles}``. An applied object is its whole desired state at ``ts`` (Unix
seconds), so the pods of a Deployment, StatefulSet or ReplicaSet follow its
``spec.replicas``: more replicas create pods at that instant, fewer delete the newest,
deleting the object deletes them all. Objects applied several times at one instant
count once, as their last copy. A bare Pod lives from its apply to its delete; a Job
runs ``parallelism`` pods at a time until ``completions`` have run. ``pod_lifecycles``
(msgpack only: its keys are ``[gvk, "ns/name"]`` pairs) give bare pods and Jobs'
pods their start and end: ``{"Running": start}`` or ``{"Finished": [start, end]}``;
the n-th pod of an owner takes entry n modulo their count. Requests are the sum over the
pod template's containers; the node pool is its ``kubernetes.azure.com/agentpool``
node selector. Other kinds are counted and not replayed.
"""

from __future__ import annotations

import heapq
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import InputError
from simulator.scenario.traces.table import (
    PodTable,
    Problems,
    ReadOptions,
    assemble,
    parse_cpu,
    parse_memory,
)

__all__ = ["read_simkube"]

_KEYS = ("version", "config", "events", "index", "pod_lifecycles")
_REPLICATED = {"Deployment", "StatefulSet", "ReplicaSet"}
_TEMPLATE = {
    "Deployment": "/spec/template",
    "StatefulSet": "/spec/template",
    "ReplicaSet": "/spec/template",
    "Job": "/spec/template",
    "Pod": "",
}
_POOL_LABELS = ("kubernetes.azure.com/agentpool", "agentpool")


def _load(file: Path) -> Any:
    raw = file.read_bytes()
    if raw.lstrip()[:1] == b"{":
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"is not valid JSON: {exc}", source=file.name) from None
    import msgpack

    try:
        # Map keys may be [gvk, name] pairs (pod_lifecycles) and integers (hashes).
        return msgpack.unpackb(raw, strict_map_key=False, use_list=False)
    except (ValueError, msgpack.UnpackException, TypeError) as exc:
        raise InputError(
            f"is neither JSON nor msgpack: {exc}; a SimKube trace is one or the other",
            source=file.name,
        ) from None


class _Pods:
    """The pods read so far, as columns."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.rows: list[int] = []
        self.created: list[float] = []
        self.scheduled: list[float] = []
        self.deleted: list[float] = []
        self.cpu: list[int] = []
        self.memory: list[int] = []
        self.gpu: list[int] = []
        self.pool: list[str] = []
        self.group: list[str] = []
        self.host: list[int] = []

    def add(self, name: str, row: int, at: float, group: str, shape: tuple) -> int:
        cpu, memory, gpu, pool, host = shape
        self.names.append(name)
        self.rows.append(row)
        self.created.append(at)
        self.scheduled.append(at)
        self.deleted.append(math.nan)
        self.cpu.append(cpu)
        self.memory.append(memory)
        self.gpu.append(gpu)
        self.pool.append(pool)
        self.group.append(group)
        self.host.append(host)
        return len(self.names) - 1


def _pointer(obj: Any, path: str) -> Any:
    """The value at JSON pointer ``path`` in ``obj`` (None where there is none)."""
    for part in [p for p in path.split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        obj = obj.get(part) if isinstance(obj, Mapping) else None
    return obj


def _shape(template: Any, where: str, source: str) -> tuple[int, int, int, str, int]:
    """Requests (millicores, MiB, GPUs; -1 none given), node pool and host network of a
    pod template (or a pod)."""
    spec = template.get("spec") if isinstance(template, Mapping) else None
    if not isinstance(spec, Mapping):
        spec = template if isinstance(template, Mapping) else {}
    cpu = memory = gpu = 0.0
    given = set()
    for container in spec.get("containers") or ():
        requests = ((container or {}).get("resources") or {}).get("requests") or {}
        for key, parse in (
            ("cpu", lambda v: parse_cpu(v, "cores")),
            ("memory", lambda v: parse_memory(v, "bytes")),
            ("nvidia.com/gpu", lambda v: parse_cpu(v, "cores")),
        ):
            if key not in requests:
                continue
            value = parse(requests[key])
            if value is None or value < 0:
                raise InputError(
                    f"not a Kubernetes quantity for {key}",
                    source=source,
                    where=f"{where}.resources.requests",
                    value=requests[key],
                )
            given.add(key)
            if key == "cpu":
                cpu += value
            elif key == "memory":
                memory += value
            else:
                gpu += value / 1000
    selector = spec.get("nodeSelector") or {}
    pool = next((str(selector[k]) for k in _POOL_LABELS if k in selector), "")
    return (
        round(cpu) if "cpu" in given else -1,
        round(memory) if "memory" in given else -1,
        round(gpu) if "nvidia.com/gpu" in given else -1,
        pool,
        int(bool(spec.get("hostNetwork"))),
    )


def _lifecycle(entry: Any) -> tuple[float, float] | None:
    """(start, end) of one ``PodLifecycleData``: end NaN while running; None for Empty."""
    if isinstance(entry, Mapping) and len(entry) == 1:
        ((variant, value),) = entry.items()
        if variant == "Running":
            return float(value), math.nan
        if variant == "Finished" and isinstance(value, Sequence) and len(value) == 2:
            return float(value[0]), float(value[1])
    return None  # "Empty", {"Empty": ...}: no data


def read_simkube(file: Path, options: ReadOptions) -> PodTable:
    """A SimKube trace's pods (Deployments' replicas, bare pods, Jobs)."""
    doc = _load(file)
    source = file.name
    if not isinstance(doc, Mapping):
        raise InputError("is not a SimKube trace: expected a mapping at the top", source=source)
    for key in _KEYS:
        if key not in doc:
            raise InputError(
                "is required: a SimKube trace v2 has version, config, events, index and "
                "pod_lifecycles",
                source=source,
                where=key,
            )
    if doc["version"] != 2:
        raise InputError(
            "unsupported trace version; ipsim reads version 2",
            source=source,
            where="version",
            value=doc["version"],
        )
    events = doc["events"]
    if not isinstance(events, Sequence) or isinstance(events, str | bytes):
        raise InputError("must be a list of events", source=source, where="events")
    tracked = ((doc.get("config") or {}).get("trackedObjects")) or {}
    lifecycles: dict[str, list[tuple[float, float]]] = {}
    for key, by_hash in (doc.get("pod_lifecycles") or {}).items():
        if isinstance(key, Sequence) and len(key) == 2 and isinstance(by_hash, Mapping):
            entries = next(iter(by_hash.values()), ())  # built-in kinds: the first hash
            lifecycles[f"{key[0]}|{key[1]}"] = [
                x for x in (_lifecycle(e) for e in entries) if x is not None
            ]
    pods = _Pods()
    ignored: Counter[str] = Counter()
    alive: dict[str, list[int]] = {}  # owner -> its live pods, oldest first
    launched: Counter[str] = Counter()
    shapes: dict[str, tuple] = {}
    jobs: list[tuple[float, int, str, float]] = []  # (when a pod ends, seq, owner, started)
    jobs_left: dict[str, int] = {}
    first_ts = last_ts = None

    def launch(owner: str, at: float, row: int, gvk: str) -> int:
        launched[owner] += 1
        name = owner.split("|", 1)[1]
        kind = gvk.rsplit(".", 1)[-1]
        pod_name = name if kind == "Pod" else f"{name}-{launched[owner]:05d}"
        i = pods.add(pod_name, row, at, name, shapes[owner])
        alive.setdefault(owner, []).append(i)
        return i

    def delete(owner: str, i: int, at: float) -> None:
        pods.deleted[i] = at
        alive[owner].remove(i)

    def run_jobs(until: float) -> None:
        while jobs and jobs[0][0] <= until:
            end, _seq, owner, _start = heapq.heappop(jobs)
            if jobs_left.get(owner, 0) > 0:
                start_job_pod(owner, end, 0)

    def start_job_pod(owner: str, at: float, row: int) -> None:
        jobs_left[owner] -= 1
        n = launched[owner]
        i = launch(owner, at, row, owner.split("|", 1)[0])
        entries = lifecycles.get(owner)
        if entries:
            start, end = entries[n % len(entries)]
            if not math.isnan(end):
                pods.deleted[i] = at + (end - start)
                alive[owner].remove(i)
                heapq.heappush(jobs, (pods.deleted[i], i, owner, at))

    # Events of one instant are one change: the last copy of each object wins.
    at_index = 0
    while at_index < len(events):
        group_ts = _ts(events[at_index], at_index, source)
        last: dict[str, tuple[str, Any, int]] = {}  # owner -> (applied|deleted, obj, row)
        while at_index < len(events) and _ts(events[at_index], at_index, source) == group_ts:
            event = events[at_index]
            for verb in ("applied_objs", "deleted_objs"):
                objs = event.get(verb) or ()
                for j, obj in enumerate(objs):
                    where = f"events[{at_index}].{verb}[{j}]"
                    if not isinstance(obj, Mapping) or not isinstance(obj.get("metadata"), Mapping):
                        raise InputError(
                            "is not a Kubernetes object with metadata", source=source, where=where
                        )
                    meta = obj["metadata"]
                    gvk = f"{obj.get('apiVersion', '')}.{obj.get('kind', '')}"
                    owner = f"{gvk}|{meta.get('namespace') or 'default'}/{meta.get('name', '')}"
                    last[owner] = (verb, obj, at_index + 1)
            at_index += 1
        first_ts = group_ts if first_ts is None else first_ts
        last_ts = group_ts
        run_jobs(group_ts)
        for owner, (verb, obj, row) in last.items():
            gvk, kind = owner.split("|", 1)[0], str(obj.get("kind", ""))
            if verb == "deleted_objs":
                for i in list(alive.get(owner, ())):
                    delete(owner, i, group_ts)
                jobs_left.pop(owner, None)
                continue
            if kind not in _REPLICATED and kind not in ("Pod", "Job"):
                ignored[f"object of kind {kind or '(none)'}: not replayed"] += 1
                continue
            paths = (tracked.get(gvk) or {}).get("podSpecTemplatePaths") or [
                (tracked.get(gvk) or {}).get("podSpecTemplatePath") or _TEMPLATE[kind]
            ]
            template = _pointer(obj, paths[0]) if paths[0] else obj
            shapes[owner] = _shape(template or {}, f"events[{row - 1}]", source)
            live = alive.setdefault(owner, [])
            if kind in _REPLICATED:
                spec = obj.get("spec") or {}
                replicas = spec.get("replicas", 1)
                if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                    raise InputError(
                        "spec.replicas must be a whole number >= 0",
                        source=source,
                        where=f"events[{row - 1}]",
                        value=replicas,
                    )
                for _ in range(replicas - len(live)):
                    launch(owner, group_ts, row, gvk)
                for i in list(reversed(live))[: max(len(live) - replicas, 0)]:
                    delete(owner, i, group_ts)  # a ReplicaSet deletes its newest first
            elif kind == "Pod" and not live and launched[owner] == 0:
                i = launch(owner, group_ts, row, gvk)
                entries = lifecycles.get(owner)
                if entries:
                    start, end = entries[0]
                    pods.scheduled[i] = start
                    pods.created[i] = min(group_ts, start)
                    if not math.isnan(end):
                        pods.deleted[i] = end
                        alive[owner].remove(i)
            elif kind == "Job" and owner not in jobs_left:
                spec = obj.get("spec") or {}
                parallel = spec.get("parallelism", 1) or 1
                jobs_left[owner] = spec.get("completions") or parallel
                for _ in range(min(parallel, jobs_left[owner])):
                    start_job_pod(owner, group_ts, row)
    if last_ts is not None:
        run_jobs(math.inf)
    count = len(pods.names)
    rows = np.array(pods.rows, dtype=np.int64)
    problems = Problems(source, rows, drop=options.drop_bad, row_word="event")
    return assemble(
        problems,
        {},
        names=pods.names,
        created=np.array(pods.created, dtype=float),
        scheduled=np.array(pods.scheduled, dtype=float),
        deleted=np.array(pods.deleted, dtype=float),
        cpu=np.array(pods.cpu, dtype=np.int64),
        memory=np.array(pods.memory, dtype=np.int64),
        gpu=np.array(pods.gpu, dtype=np.int64),
        node=[""] * count,
        pool=pods.pool,
        group=pods.group,
        host_network=np.array(pods.host, dtype=np.int8),
        max_per_node=np.zeros(count, dtype=np.int64),
        absolute=True,
        start=first_ts,
        end=last_ts,
        scheduling_known=False,
        dropped=ignored,
    )


def _ts(event: Any, index: int, source: str) -> float:
    ts = event.get("ts") if isinstance(event, Mapping) else None
    if not isinstance(ts, int | float) or isinstance(ts, bool):
        raise InputError(
            "needs ts, Unix seconds", source=source, where=f"events[{index}].ts", value=ts
        )
    return float(ts)
