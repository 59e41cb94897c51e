"""CNS's own metrics, rebuilt per node and per sample time from a results folder.

Reference: reference/azure-cni.md §11 and CNS's metrics observer
(``cns/ipampool/metrics/observer.go`` in ``Azure/azure-container-networking``). The
series keep CNS's names and meanings, so a simulated run can be backfilled into
Prometheus and drawn in the dashboards used for real clusters. Only nodes of clusters
whose mode keeps a CNS pool (``cns_pool`` in the table of modes) have these metrics.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.core.modes import MODES
from simulator.errors import IpsimError
from simulator.results.folders import check_file_target, write_file
from simulator.scenario.files import InputFileError, read_bounded
from simulator.scenario.loader import read_document

__all__ = [
    "DEFAULT_START",
    "MAX_ROWS",
    "METRICS",
    "MetricsError",
    "ResultsFiles",
    "is_metrics_file",
    "load_series",
    "no_series_reason",
    "parse_start",
    "read_results",
    "results_file",
    "results_folder",
    "write_metrics",
]

#: Wall-clock instant that simulated second 0 maps to, unless the user gives one.
DEFAULT_START = "2025-01-01T00:00:00Z"


class MetricsError(IpsimError):
    """A results folder cannot be turned into metrics."""


@dataclass(frozen=True)
class Metric:
    name: str
    help: str


#: CNS's per-node gauges, in the order they are written.
METRICS = [
    Metric("cx_ipam_requested_ips", "IPs CNS has requested (NNC spec.requestedIPCount)"),
    Metric("cx_ipam_total_ips", "IPs allocated to the node: secondary plus primary"),
    Metric("cx_ipam_secondary_ips", "secondary IPs the control plane gave the NC, any state"),
    Metric("cx_ipam_primary_ips", "the NC's primary IP (DNS and IMDS SNAT)"),
    Metric("cx_ipam_pod_allocated_ips", "IPs assigned to pods"),
    Metric("cx_ipam_available_ips", "IPs in state Available"),
    Metric("cx_ipam_current_available_ips", "secondary - assigned - pending release"),
    Metric("cx_ipam_expect_available_ips", "requested - assigned"),
    Metric("cx_ipam_pending_release_ips", "IPs in state PendingRelease"),
    Metric("cx_ipam_pending_programming_ips", "IPs in state PendingProgramming"),
    Metric("cx_ipam_batch_size", "the scaler's batch size (NNC status)"),
    Metric("cx_ipam_max_ips", "the scaler's maximum IPs (NNC status)"),
    Metric("cx_ipam_subnet_exhaustion_state", "1 while the subnet is marked exhausted"),
]

_LABELS = ["subnet", "subnet_cidr", "node"]


def parse_start(text: str) -> float:
    """An ISO 8601 instant (``2025-01-01T00:00:00Z``) as Unix seconds; naive means UTC."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MetricsError(
            f"--start: not an ISO 8601 date and time such as {DEFAULT_START} (got {text!r})"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def results_file(folder: Path, name: str) -> Path:
    """``folder / name``, or a clear error when ``folder`` is not a results folder."""
    path = folder / name
    if not path.is_file():
        raise MetricsError(f"{folder}: not a results folder ({name} is missing)")
    return path


def results_folder(folder: str | os.PathLike[str]) -> Path:
    """``folder`` as a Path, or an error that names the problem: no such folder, or a
    scenario file where a results folder belongs."""
    path = Path(folder)
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        raise MetricsError(
            f"{path}: is a scenario file, not a results folder; run it first "
            f"(ipsim run {path}) and give the folder it writes"
        )
    if not path.is_dir():
        raise MetricsError(f"{path}: no such results folder")
    return path


def no_series_reason(folder: str | os.PathLike[str]) -> str:
    """Why a results folder gives no CNS series, from its node pools' modes (the table of
    modes says which keep a CNS pool)."""
    folder = Path(folder)
    if not _pooled_pools(folder):
        scenario = read_document(results_file(folder, "scenario.resolved.yaml"))
        modes = sorted(
            {
                str(p.get("pod_ip_allocation") or c["cni"])
                for c in scenario["clusters"]
                for p in c["node_pools"]
            }
        )
        pooled = ", ".join(name for name, m in MODES.items() if m.cns_pool)
        return (
            f"no cluster keeps a CNS pool: {', '.join(modes)} has no NNC pool monitor and no "
            f"cx_ipam_* metrics (modes with one: {pooled})"
        )
    return "no node of a cluster with a CNS pool got as far as its first NNC record"


#: Rows (one per node and sample time, 13 samples each) an export holds at most: a
#: ``--step`` that would give more is refused before anything is built.
MAX_ROWS = 5_000_000
#: The most addresses a count in a results file can hold (all of IPv4).
_MAX_COUNT = 2**32

_NNC_COLUMNS = {
    "time_s": "time",
    "cluster": "text",
    "node_pool": "text",
    "node": "text",
    "subnet": "text",
    **dict.fromkeys(
        [
            "requested_ips",
            "secondary_ips",
            "primary_ips",
            "assigned_ips",
            "available_ips",
            "pending_release_ips",
            "pending_programming_ips",
            "batch_size",
            "max_ips",
        ],
        "count",
    ),
    "exhausted": "flag",
}
_FLAGS = {"True": True, "False": False, "true": True, "false": False, "1": True, "0": False}


def _tampered(path: Path, why: str) -> MetricsError:
    return MetricsError(f"{path}: {why}; is it a results file as ipsim wrote it?")


def _column(path: Path, frame: pd.DataFrame, name: str, kind: str, duration: float) -> pd.Series:
    """Column ``name`` checked and converted: text, count, time (or time or empty), flag."""
    raw = frame[name]
    if kind == "text":
        bad = raw.isna().to_numpy()
        values = raw
    elif kind == "flag":
        values = raw.map(lambda v: v if isinstance(v, bool) else _FLAGS.get(str(v).strip()))
        bad = values.isna().to_numpy()
    else:
        numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            if kind == "count":
                bad = ~np.isfinite(numbers) | (numbers % 1 != 0) | (numbers < 0)
                bad |= numbers > _MAX_COUNT
            else:
                bad = ~np.isfinite(numbers) | (numbers < 0) | (numbers > duration + 1e-6)
                if kind == "time or empty":
                    bad &= ~raw.isna().to_numpy()
        values = pd.Series(numbers, index=raw.index)
    if bad.any():
        row = int(np.argmax(bad))
        want = {
            "text": "a name",
            "flag": "True or False",
            "count": f"a whole number from 0 to {_MAX_COUNT}",
        }.get(kind, f"a time from 0 to the run's {duration:g} s")
        got = raw.iloc[row]
        shown = f"{float(got):g}" if isinstance(got, float | np.floating) else repr(str(got))
        raise _tampered(path, f"line {row + 2}, column {name}: must be {want} (got {shown})")
    if kind == "count":
        return values.astype(np.int64)
    return values.astype(bool) if kind == "flag" else values


def _read_csv(
    path: Path, columns: dict[str, str], duration: float, nrows: int | None = None
) -> pd.DataFrame:
    """A results CSV file with ``columns`` of the given kinds, each checked."""
    text = [name for name, kind in columns.items() if kind == "text"]
    try:
        frame = pd.read_csv(
            path,
            encoding="utf-8-sig",  # a file saved again by a spreadsheet starts with a BOM
            dtype=dict.fromkeys(text, str),
            keep_default_na=False,
            na_values=[""],
            nrows=nrows,
            low_memory=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise _tampered(path, f"not a CSV file ({str(exc).strip().splitlines()[0]})") from None
    except (OSError, ValueError) as exc:
        raise _tampered(path, f"cannot be read ({str(exc).strip().splitlines()[0]})") from None
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise _tampered(path, f"column {missing[0]} is missing")
    for name, kind in columns.items():
        frame[name] = _column(path, frame, name, kind, duration)
    return frame


@dataclass
class ResultsFiles:
    """What ``export-metrics`` and ``plot nnc`` read from a results folder, checked."""

    folder: Path
    duration: float
    cidrs: dict[str, str]
    nnc: pd.DataFrame
    deleted: dict[str, float]  # when each deleted node went


def _summary(folder: Path) -> tuple[float, dict[str, str]]:
    path = results_file(folder, "summary.json")
    try:
        data = json.loads(read_bounded(path, 50_000_000, "summary file").decode("utf-8-sig"))
    except InputFileError as exc:
        raise MetricsError(f"{path}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise _tampered(path, f"not valid JSON ({str(exc).splitlines()[0]})") from None
    duration = data.get("duration_s") if isinstance(data, dict) else None
    if (
        not isinstance(duration, int | float)
        or isinstance(duration, bool)
        or not math.isfinite(duration)
        or duration <= 0
    ):
        raise _tampered(path, f"duration_s must be a positive number of seconds (got {duration!r})")
    subnets = data.get("subnets")
    if not isinstance(subnets, dict) or not all(
        isinstance(s, dict) and isinstance(s.get("cidr"), str) for s in subnets.values()
    ):
        raise _tampered(path, "subnets must map each subnet to its figures and cidr")
    return float(duration), {str(name): s["cidr"] for name, s in subnets.items()}


def read_results(folder: str | os.PathLike[str], *, nodes_optional: bool = False) -> ResultsFiles:
    """summary.json, nnc.csv and nodes.csv of a results folder, every value checked: a
    damaged or edited file is an error naming the file, line and column, never a wrong
    chart or export. ``nodes_optional``: without nodes.csv no node counts as deleted."""
    folder = Path(folder)
    folder = results_folder(folder)
    duration, cidrs = _summary(folder)
    path = results_file(folder, "nnc.csv")
    nnc = _read_csv(path, _NNC_COLUMNS, duration)
    backwards = (nnc.groupby("node", sort=False)["time_s"].diff() < 0).to_numpy()
    if backwards.any():
        row = int(np.argmax(backwards))
        raise _tampered(path, f"line {row + 2}: node {nnc['node'].iloc[row]!r} goes back in time")
    deleted: dict[str, float] = {}
    if not (nodes_optional and not (folder / "nodes.csv").is_file()):
        nodes_path = results_file(folder, "nodes.csv")
        nodes = _read_csv(nodes_path, {"node": "text", "deleted_s": "time or empty"}, duration)
        twice = nodes["node"].duplicated().to_numpy()
        if twice.any():
            row = int(np.argmax(twice))
            raise _tampered(nodes_path, f"line {row + 2}: node {nodes['node'].iloc[row]!r} twice")
        gone = nodes[nodes["deleted_s"].notna()]
        deleted = dict(zip(gone["node"], gone["deleted_s"].astype(float), strict=True))
        unknown = set(nnc["node"]) - set(nodes["node"])
        if unknown:
            raise _tampered(nodes_path, f"node {min(unknown)!r} of nnc.csv is missing")
    return ResultsFiles(folder, duration, cidrs, nnc, deleted)


def _pooled_pools(folder: Path) -> set[str]:
    """The node pools (``cluster/pool``) whose CNS keeps an NNC pool: the table of
    modes' ``cns_pool`` for the pool's allocation mode, else its cluster's mode."""
    path = results_file(folder, "scenario.resolved.yaml")
    document = read_document(path)
    clusters = document.get("clusters")
    if not isinstance(clusters, list) or not all(
        isinstance(c, dict)
        and isinstance(c.get("name"), str)
        and isinstance(c.get("node_pools"), list)
        and all(isinstance(p, dict) and isinstance(p.get("name"), str) for p in c["node_pools"])
        for c in clusters
    ):
        raise _tampered(path, "clusters must be a list of clusters with names and node pools")
    pooled = set()
    for cluster in clusters:
        for pool in cluster["node_pools"]:
            mode = MODES.get(str(pool.get("pod_ip_allocation") or cluster.get("cni")))
            if mode is not None and mode.cns_pool:
                pooled.add(f"{cluster['name']}/{pool['name']}")
    return pooled


def _run_step(folder: Path, duration: float) -> float:
    """The run's sample interval: the second time of subnets.csv."""
    path = results_file(folder, "subnets.csv")
    times = _read_csv(path, {"time_s": "time"}, duration, nrows=2)["time_s"]
    if len(times) < 2 or not times.iloc[1] > 0:
        raise _tampered(path, "the first two rows must be sample times 0 and the step")
    return float(times.iloc[1])


def _check_size(
    folder: Path, starts: np.ndarray, stops: np.ndarray, duration: float, step: float, given: bool
) -> None:
    """Refuse a step under which the export would exceed :data:`MAX_ROWS` rows, counted
    from each node's time alive before anything is built."""
    rows = duration / step + 1 + float(np.sum(np.maximum(stops - starts, 0) / step + 1))
    if rows <= MAX_ROWS:
        return
    least = step * rows / MAX_ROWS
    what = (
        f"--step {step:g}"
        if given
        else f"{folder}: the run's sample interval ({step:g} s) over {duration:g} s"
    )
    count = f"{rows:,.0f}" if rows < 1e15 else f"{rows:.2g}"
    raise MetricsError(
        f"{what} gives about {count} rows (sample times, and nodes × sample times); at "
        f"most {MAX_ROWS:,}: use --step {least:.3g} or more"
    )


def load_series(folder: str | os.PathLike[str], step: float | None = None) -> pd.DataFrame:
    """One row per node with a CNS pool and sample time, one column per CNS metric.

    A node is sampled from its first NNC record until it is deleted, on the scenario's
    ``sample_every`` grid (or ``step`` seconds); each sample holds the node's last state.
    A step that would give more than :data:`MAX_ROWS` rows is refused."""
    if step is not None and not math.isfinite(step):
        raise MetricsError(f"--step: must be finite (got {step!r})")
    if step is not None and not step > 0:
        raise MetricsError(f"--step: must be a positive number of seconds (got {step!r})")
    results = read_results(folder)
    folder, duration = results.folder, results.duration
    pooled = _pooled_pools(folder)
    given = step is not None
    step = step if step is not None else _run_step(folder, duration)
    holders = results.nnc["cluster"] + "/" + results.nnc["node_pool"]
    nnc = results.nnc[holders.isin(pooled)]
    first = nnc.groupby("node", sort=False)["time_s"].first()
    stops = np.array([results.deleted.get(n, duration) for n in first.index], dtype=float)
    _check_size(folder, first.to_numpy(dtype=float), stops, duration, step, given)
    grid = np.append(np.arange(math.ceil(duration / step - 1e-9)) * step, duration)
    grid = np.unique(grid[grid <= duration])
    parts = []
    for node, rows in nnc.groupby("node", sort=False):
        times = rows["time_s"].to_numpy()
        deleted = results.deleted.get(node)
        alive = (grid >= times[0]) & (grid < deleted if deleted is not None else True)
        at = grid[alive]
        if not len(at):
            continue
        picked = rows.iloc[np.searchsorted(times, at, side="right") - 1]
        parts.append(_metrics_frame(at, node, picked, results.cidrs))
    columns = ["time_s", *_LABELS, *(m.name for m in METRICS)]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def _metrics_frame(
    at: np.ndarray, node: str, rows: pd.DataFrame, cidrs: dict[str, str]
) -> pd.DataFrame:
    secondary = rows["secondary_ips"].to_numpy()
    assigned = rows["assigned_ips"].to_numpy()
    pending_release = rows["pending_release_ips"].to_numpy()
    subnet = rows["subnet"].to_numpy()
    return pd.DataFrame(
        {
            "time_s": at,
            "subnet": subnet,
            "subnet_cidr": [cidrs.get(s, "") for s in subnet],
            "node": node,
            "cx_ipam_requested_ips": rows["requested_ips"].to_numpy(),
            "cx_ipam_total_ips": secondary + rows["primary_ips"].to_numpy(),
            "cx_ipam_secondary_ips": secondary,
            "cx_ipam_primary_ips": rows["primary_ips"].to_numpy(),
            "cx_ipam_pod_allocated_ips": assigned,
            "cx_ipam_available_ips": rows["available_ips"].to_numpy(),
            "cx_ipam_current_available_ips": secondary - assigned - pending_release,
            "cx_ipam_expect_available_ips": rows["requested_ips"].to_numpy() - assigned,
            "cx_ipam_pending_release_ips": pending_release,
            "cx_ipam_pending_programming_ips": rows["pending_programming_ips"].to_numpy(),
            "cx_ipam_batch_size": rows["batch_size"].to_numpy(),
            "cx_ipam_max_ips": rows["max_ips"].to_numpy(),
            "cx_ipam_subnet_exhaustion_state": rows["exhausted"].astype(bool).astype(int),
        }
    )


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics_lines(series: pd.DataFrame, start: float) -> Iterator[str]:
    """The series in OpenMetrics text format: one gauge family per metric, each sample
    timestamped ``start + time_s`` seconds, ending with ``# EOF``."""
    ordered = series.sort_values(["node", "time_s"], kind="stable")
    labels = [
        f'{{node="{_escape(n)}",subnet="{_escape(s)}",subnet_cidr="{_escape(c)}"}}'
        for n, s, c in zip(ordered["node"], ordered["subnet"], ordered["subnet_cidr"], strict=True)
    ]
    stamps = [f"{start + t:.3f}" for t in ordered["time_s"]]
    for metric in METRICS:
        yield f"# TYPE {metric.name} gauge"
        yield f"# HELP {metric.name} {metric.help}"
        values = ordered[metric.name].to_numpy()
        for label, value, stamp in zip(labels, values, stamps, strict=True):
            yield f"{metric.name}{label} {int(value)} {stamp}"
    yield "# EOF"


def write_metrics(
    folder: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    fmt: str = "openmetrics",
    start: float | None = None,
    step: float | None = None,
    force: bool = False,
) -> tuple[Path, int]:
    """Write the folder's CNS metrics to ``output`` atomically; returns (path, samples)."""
    target = Path(output)
    results_folder(folder)  # a wrong input is named before the output is looked at
    check_file_target(target, force=force, ours=is_metrics_file)  # before the work
    series = load_series(folder, step)

    def fill(staging: Path) -> None:
        with open(staging, "w", encoding="utf-8", newline="\n") as out:
            if fmt == "csv":
                series.to_csv(out, index=False)
            else:
                begin = parse_start(DEFAULT_START) if start is None else start
                for line in openmetrics_lines(series, begin):
                    out.write(line + "\n")

    write_file(target, fill, force=force, ours=is_metrics_file)
    return target, len(series) * len(METRICS)


def is_metrics_file(head: bytes) -> bool:
    """Whether a file's first bytes are those of an export (either format) of ipsim's."""
    return head.startswith((b"# TYPE cx_ipam_requested_ips gauge", b"time_s,subnet,subnet_cidr,"))
