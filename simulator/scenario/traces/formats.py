"""The table of trace formats: what ``source.format`` accepts, how each is read, and how a
file's format is recognised when none is named (``ipsim trace inspect``).

A format is one entry: its name, a title, the reader (a file in, the generic
:class:`~simulator.scenario.traces.table.PodTable` out) and, for the tabular ones, the
columns and units it reads by default. Adding a format is one entry and one reader
module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from simulator.errors import InputError
from simulator.scenario.traces.inventory import read_kube_pod_inventory
from simulator.scenario.traces.ksm import read_kube_state_metrics
from simulator.scenario.traces.podtable import read_pod_csv, read_pod_parquet
from simulator.scenario.traces.simkube import read_simkube
from simulator.scenario.traces.table import FIELDS, UNITS, PodTable, ReadOptions

__all__ = ["FORMATS", "MAX_TRACE_BYTES", "ReadOptions", "TraceFormat", "detect_format", "read"]

#: Trace files larger than this are refused before reading (a 100,000-pod CSV is ~10 MB).
MAX_TRACE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class TraceFormat:
    """One trace format, as ``source.format`` names it."""

    name: str
    title: str
    read: Callable[[Path, ReadOptions], PodTable]
    tabular: bool = False  # takes ``columns:`` and ``units:``
    columns: dict[str, str] = field(default_factory=lambda: {f: f for f in FIELDS})
    units: dict[str, str] = field(default_factory=lambda: dict(UNITS))
    round_times: bool = False
    group_with: str | None = None  # a second column of the group, unless columns.group is given
    upstream: str = ""  # where the format is defined


_OPENB = {
    "name": "name",
    "created": "creation_time",
    "scheduled": "scheduled_time",
    "deleted": "deletion_time",
    "cpu": "cpu_milli",
    "memory": "memory_mib",
    "gpu": "num_gpu",
}
_DLRM = {
    "name": "instance_sn",
    "group": "app_name",
    "created": "creation_time",
    "scheduled": "scheduled_time",
    "deleted": "deletion_time",
    "cpu": "cpu_request",
    "memory": "memory_request",
    "gpu": "gpu_request",
    "max_per_node": "max_instance_per_node",
}

#: Every trace format by the name ``source.format`` and ``--format`` use.
FORMATS: dict[str, TraceFormat] = {
    f.name: f
    for f in (
        TraceFormat(
            "pod-csv",
            "the generic pod table as CSV",
            read_pod_csv,
            tabular=True,
            upstream="this project (docs/trace-formats.md)",
        ),
        TraceFormat(
            "pod-parquet",
            "the generic pod table as Parquet",
            read_pod_parquet,
            tabular=True,
            upstream="this project (docs/trace-formats.md)",
        ),
        TraceFormat(
            "simkube",
            "SimKube trace v2 (msgpack or JSON): Deployments' replicas and pod lifecycles",
            read_simkube,
            upstream="acrlabs/simkube docs/ref/trace-files.md",
        ),
        TraceFormat(
            "kube-state-metrics",
            "kube-state-metrics pod series: Prometheus HTTP API JSON or long CSV",
            read_kube_state_metrics,
            upstream="kubernetes/kube-state-metrics docs/metrics/workload/pod-metrics.md",
        ),
        TraceFormat(
            "kube-pod-inventory",
            "Container Insights KubePodInventory rows (Log Analytics CSV or query JSON)",
            read_kube_pod_inventory,
            upstream="MicrosoftDocs azure-monitor-ref tables/kubepodinventory.md",
        ),
        TraceFormat(
            "alibaba-openb",
            "Alibaba GPU cluster trace 2023 (openb pod list)",
            read_pod_csv,
            tabular=True,
            columns=_OPENB,
            units={"cpu": "millicores", "memory": "MiB", "time": "s"},
            upstream="alibaba/clusterdata cluster-trace-gpu-v2023",
        ),
        TraceFormat(
            "alibaba-dlrm",
            "Alibaba GPU cluster trace 2025 (disaggregated DLRM instances)",
            read_pod_csv,
            tabular=True,
            columns=_DLRM,
            units={"cpu": "cores", "memory": "GiB", "time": "s"},
            round_times=True,
            group_with="role",
            upstream="alibaba/clusterdata cluster-trace-gpu-v2025",
        ),
    )
}


def check_size(file: Path) -> None:
    """Refuse a file that is not there, not a file, or beyond :data:`MAX_TRACE_BYTES`."""
    try:
        if not file.is_file():
            raise InputError(
                "no such file" if not file.exists() else "is not a file", source=str(file)
            )
        size = file.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", source=str(file)) from None
    if size > MAX_TRACE_BYTES:
        raise InputError(
            f"is {size:,} bytes; trace files are limited to {MAX_TRACE_BYTES:,} bytes "
            "(cut it into windows, or convert it to pod-parquet)",
            source=file.name,
        )


def read(
    file: Path,
    fmt: str,
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    drop_bad: bool = False,
) -> PodTable:
    """Read ``file`` as format ``fmt`` into the generic pod table."""
    spec = FORMATS[fmt]
    check_size(file)
    given = {k: v for k, v in (columns or {}).items() if v is not None}
    options = ReadOptions(
        columns={**spec.columns, **given},
        given=given,
        units={**spec.units, **{k: v for k, v in (units or {}).items() if v is not None}},
        drop_bad=drop_bad,
        round_times=spec.round_times,
        group_with=spec.group_with if "group" not in given else None,
    )
    try:
        return spec.read(file, options)
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", source=file.name) from None
    except MemoryError:
        raise InputError("does not fit in memory", source=file.name) from None


def detect_format(file: Path) -> str:
    """The format of ``file`` from its name and its first bytes."""
    check_size(file)
    suffix = file.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "pod-parquet"
    if suffix in (".sktrace", ".msgpack"):
        return "simkube"
    with open(file, "rb") as handle:
        head = handle.read(65536)
    text = head.lstrip()
    if text[:1] in (b"{", b"["):
        if b'"pod_lifecycles"' in head or b'"applied_objs"' in head:
            return "simkube"
        if b'"resultType"' in head:
            return "kube-state-metrics"
        if b'"tables"' in head:
            return "kube-pod-inventory"
    if text[:1] and (text[0] & 0xF0 in (0x80,) or text[0] in (0xDE, 0xDF)):
        return "simkube"  # a msgpack map
    first = head.decode("utf-8", "replace").lstrip("\ufeff").splitlines()[:1]
    header = {h.strip().strip('"') for h in first[0].split(",")} if first else set()
    if any(h.startswith("TimeGenerated") for h in header):
        return "kube-pod-inventory"
    if {"timestamp", "metric", "value"} <= header:
        return "kube-state-metrics"
    if {"instance_sn", "app_name"} <= header:
        return "alibaba-dlrm"
    if {"cpu_milli", "memory_mib", "creation_time"} <= header:
        return "alibaba-openb"
    return "pod-csv"
