"""A run's verdict: PASS or FAIL against its checks, with the reasons.

The figures come from the run's pod frame and summary (unrounded waits); the judging is
:func:`simulator.scenario.checks.judge`, the one definition that ``ipsim plan``'s early
stop applies too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulator.scenario.checks import CRITERIA, Checks, Figures, judge

__all__ = ["figures", "passed_criteria", "verdict"]


def figures(
    summary: dict[str, Any], pods: pd.DataFrame, checks: Checks, *, complete: bool
) -> Figures:
    """The run's figures for its checks. ``complete``: the run reached its end (the
    figures of the end are known)."""
    waits = pods["ip_wait_s"].to_numpy(dtype=float)
    waits = waits[~np.isnan(waits)]
    limit = checks.max_ip_wait
    over = int((waits > limit).sum()) if limit is not None else 0
    nodes = summary["nodes"]
    refused = summary.get("operations_refused", 0)
    left_waiting = left_pending = None
    if complete:
        state = pods["state"].to_numpy()
        # A pod still within its allowed wait at the end may yet get its address.
        left_waiting = int(((state == "waiting") & (pods["ip_wait_s"] > (limit or 0.0))).sum())
        short_of_addresses = nodes["failed"] + nodes["first_batch_refused"] + refused
        left_pending = int((state == "pending").sum()) if short_of_addresses else 0
    return Figures(
        vms_failed=nodes["failed"],
        first_batch_refused=nodes["first_batch_refused"],
        operations_refused=refused,
        pods_over_wait=over,
        longest_ip_wait_s=float(waits.max()) if len(waits) else 0.0,
        pods_left_waiting=left_waiting,
        pods_left_pending=left_pending,
    )


def verdict(
    summary: dict[str, Any], pods: pd.DataFrame, checks: Checks, stopped_at_s: float | None
) -> dict[str, Any]:
    """``verdict``, ``reasons``, ``stopped_at_s`` and the ``checks`` applied, for
    ``summary.json``."""
    found = figures(summary, pods, checks, complete=stopped_at_s is None)
    reasons = judge(found, checks)
    return {
        "verdict": "FAIL" if reasons else "PASS",
        "reasons": reasons,
        "stopped_at_s": stopped_at_s,
        "checks": checks.model_dump(),  # durations in seconds
    }


def passed_criteria(checks: dict[str, Any]) -> list[str]:
    """What a passing run did, one sentence per criterion that is on, from the
    ``checks`` of ``summary.json`` (durations in seconds)."""
    return [c.says(checks[c.key]) for c in CRITERIA if checks.get(c.key) is not None]
