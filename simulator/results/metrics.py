"""CNS's own metrics, rebuilt per node and per sample time from a results folder.

Reference: reference/azure-cni.md §11 and CNS's metrics observer
(``cns/ipampool/metrics/observer.go`` in ``Azure/azure-container-networking``). The
series keep CNS's names and meanings, so a simulated run can be backfilled into
Prometheus and drawn in the dashboards used for real clusters. Only nodes of dynamic
clusters have a CNS pool monitor; traditional nodes are left out.
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
import yaml

from simulator.core.modes import MODES
from simulator.errors import IpsimError
from simulator.results.folders import check_file_target, write_file

__all__ = [
    "DEFAULT_START",
    "METRICS",
    "MetricsError",
    "load_series",
    "parse_start",
    "results_file",
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


def load_series(folder: str | os.PathLike[str], step: float | None = None) -> pd.DataFrame:
    """One row per dynamic node and sample time, one column per CNS metric.

    A node is sampled from its first NNC record until it is deleted, on the scenario's
    ``sample_every`` grid (or ``step`` seconds); each sample holds the node's last state."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MetricsError(f"{folder}: no such results folder")
    scenario = yaml.safe_load(results_file(folder, "scenario.resolved.yaml").read_text())
    summary = json.loads(results_file(folder, "summary.json").read_text())
    nnc = pd.read_csv(results_file(folder, "nnc.csv"))
    nodes = pd.read_csv(results_file(folder, "nodes.csv")).set_index("node")
    duration = float(summary["duration_s"])
    if step is None:
        step = float(pd.read_csv(results_file(folder, "subnets.csv"), nrows=2)["time_s"].iloc[-1])
    if not step > 0 or not math.isfinite(step):
        raise MetricsError(f"--step: must be a positive number of seconds (got {step!r})")
    grid = np.append(np.arange(math.ceil(duration / step - 1e-9)) * step, duration)
    grid = np.unique(grid[grid <= duration])
    # Node pools whose CNS keeps an NNC pool (a pool's allocation mode, else its cluster's).
    pooled = {
        f"{c['name']}/{p['name']}"
        for c in scenario["clusters"]
        for p in c["node_pools"]
        if MODES[p.get("pod_ip_allocation") or c["cni"]].cns_pool
    }
    cidrs = {name: s["cidr"] for name, s in summary["subnets"].items()}
    parts = []
    holders = nnc["cluster"] + "/" + nnc["node_pool"]
    for node, rows in nnc[holders.isin(pooled)].groupby("node", sort=False):
        times = rows["time_s"].to_numpy()
        deleted = nodes.at[node, "deleted_s"]
        alive = (grid >= times[0]) & (grid < deleted if pd.notna(deleted) else True)
        at = grid[alive]
        if not len(at):
            continue
        picked = rows.iloc[np.searchsorted(times, at, side="right") - 1]
        parts.append(_metrics_frame(at, node, picked, cidrs))
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
    check_file_target(target, force=force)  # before the work, not after it
    series = load_series(folder, step)

    def fill(staging: Path) -> None:
        with open(staging, "w", encoding="utf-8", newline="\n") as out:
            if fmt == "csv":
                series.to_csv(out, index=False)
            else:
                begin = parse_start(DEFAULT_START) if start is None else start
                for line in openmetrics_lines(series, begin):
                    out.write(line + "\n")

    write_file(target, fill, force=force)
    return target, len(series) * len(METRICS)
