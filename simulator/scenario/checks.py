"""The pass/fail criteria of a run: the scenario's ``checks:`` key, with its defaults,
and the one judge that a run's verdict, ``ipsim run --check`` and ``ipsim plan`` (which
stops a candidate run as soon as a criterion fails) all apply.

Each criterion limits one figure of the run (:class:`Figures`); ``null`` switches it off.
The model counts the figures that can fail while a run goes on, the results count them
all at the end; both hand them to :func:`judge`.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from simulator.errors import ScenarioError
from simulator.scenario.types import Duration, StrictModel

__all__ = ["CRITERIA", "REFUSALS", "Checks", "Criterion", "Figures", "judge", "with_checks"]

#: Event kinds of an operation AKS refused: its pre-flight check, or a scale set that
#: could not hold every new VM.
REFUSALS = frozenset({"preflight_refused", "scale_up_failed"})


class Checks(StrictModel):
    """What a run must do to pass; ``null`` turns a criterion off (docs/model.md)."""

    max_ip_wait: Duration | None = Field(
        60.0,
        ge=0,
        description="longest a pod may wait for its address, from binding (null: no limit)",
    )
    max_nodes_failed: int | None = Field(
        0,
        ge=0,
        description="nodes that may fail to get addresses: VMs not created for a full "
        "subnet, nodes whose first batch was refused",
    )
    max_pods_left_waiting: int | None = Field(
        0,
        ge=0,
        description="pods that may be left at the end waiting for an address (longer than "
        "max_ip_wait) or pending because nodes could not get addresses",
    )
    max_operations_refused: int | None = Field(
        0,
        ge=0,
        description="operations AKS's pre-flight check or its scale sets may refuse",
    )


@dataclass(frozen=True)
class Figures:
    """What the criteria look at, as far as a run has gone."""

    vms_failed: int  # VMs not created: their node subnet had too few free addresses
    first_batch_refused: int  # nodes whose first request the pod subnet could not fill
    operations_refused: int  # operations refused by the pre-flight check or a scale set
    pods_over_wait: int  # pods that waited longer than max_ip_wait for their address
    longest_ip_wait_s: float  # the longest wait (of a pod still waiting: so far)
    # Known only at the end of a run (None while it runs or when it was stopped):
    pods_left_waiting: int | None = None  # waiting at the end, longer than max_ip_wait
    pods_left_pending: int | None = None  # pending at the end while nodes lacked addresses

    @property
    def nodes_failed(self) -> int:
        return self.vms_failed + self.first_batch_refused

    @property
    def pods_left(self) -> int | None:
        if self.pods_left_waiting is None or self.pods_left_pending is None:
            return None
        return self.pods_left_waiting + self.pods_left_pending


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _seconds(value: float) -> str:
    """``20 s``, ``1,239 s``; a limit of whole minutes or hours as ``5 min``, ``1 h``."""
    if value >= 3600 and value % 3600 == 0:
        return f"{value / 3600:,.0f} h"
    if value >= 120 and value % 60 == 0:
        return f"{value / 60:,.0f} min"
    return f"{value:,.0f} s" if value >= 10 else f"{value:,.3g} s"


def _wait_reason(f: Figures, limit: float) -> str:
    text = f"{_plural(f.pods_over_wait, 'pod')} waited longer than {_seconds(limit)} for an address"
    if f.pods_left is None:  # the run is still going: the longest wait is not known yet
        return text
    return f"{text} (the longest {_seconds(f.longest_ip_wait_s)})"


def _nodes_reason(f: Figures, limit: int) -> str:
    parts = []
    if f.vms_failed:
        parts.append(f"{_plural(f.vms_failed, 'VM')} not created: the node subnet was full")
    if f.first_batch_refused:
        parts.append(
            f"{_plural(f.first_batch_refused, 'node')} refused a first batch of pod addresses"
        )
    return f"{_plural(f.nodes_failed, 'node')} failed to get addresses ({'; '.join(parts)})"


def _left_reason(f: Figures, limit: int) -> str:
    parts = []
    if f.pods_left_waiting:
        parts.append(f"{f.pods_left_waiting:,} waiting for an address")
    if f.pods_left_pending:
        parts.append(f"{f.pods_left_pending:,} pending: nodes could not get addresses")
    return f"{_plural(f.pods_left or 0, 'pod')} left at the end ({'; '.join(parts)})"


def _refused_reason(f: Figures, limit: int) -> str:
    return (
        f"{_plural(f.operations_refused, 'operation')} refused by AKS's pre-flight check "
        "(InsufficientSubnetSize) or its scale sets (SubnetIsFull)"
    )


def _at_most(limit: int, one: str, many: str, rest: str) -> str:
    """``no node failed ...`` or ``at most 2 nodes failed ...``."""
    return f"no {one} {rest}" if limit == 0 else f"at most {limit:,} {many} {rest}"


@dataclass(frozen=True)
class Criterion:
    """One check: the key of ``checks:``, what passing means, the figure it limits."""

    key: str
    says: Callable[[Any], str]  # what a passing run did, given the limit
    value: Callable[[Figures], float | None]  # None: not known yet
    reason: Callable[[Figures, Any], str]  # why a run failed it


#: The criteria in the order verdicts list them.
CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "max_ip_wait",
        lambda limit: f"no pod waited longer than {_seconds(limit)} for an address",
        lambda f: f.longest_ip_wait_s,
        _wait_reason,
    ),
    Criterion(
        "max_nodes_failed",
        lambda limit: _at_most(limit, "node", "nodes", "failed to get addresses"),
        lambda f: f.nodes_failed,
        _nodes_reason,
    ),
    Criterion(
        "max_pods_left_waiting",
        lambda limit: _at_most(
            limit, "pod", "pods", "left waiting or pending for want of addresses at the end"
        ),
        lambda f: f.pods_left,
        _left_reason,
    ),
    Criterion(
        "max_operations_refused",
        lambda limit: _at_most(
            limit, "operation", "operations", "refused by the pre-flight check or a scale set"
        ),
        lambda f: f.operations_refused,
        _refused_reason,
    ),
)


def judge(figures: Figures, checks: Checks) -> list[str]:
    """Why the run fails its checks (an empty list: it passes, as far as it has gone)."""
    reasons = []
    for criterion in CRITERIA:
        limit = getattr(checks, criterion.key)
        value = criterion.value(figures)
        if limit is not None and value is not None and value > limit:
            reasons.append(criterion.reason(figures, limit))
    return reasons


def with_checks(document: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of a scenario document with ``checks.KEY`` set for each override (the
    command line's ``--checks KEY=VALUE``); an unknown key is refused here, a bad value
    by the scenario's validation, both naming ``checks.KEY``."""
    known = list(Checks.model_fields)
    for key in overrides:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"one of {', '.join(known)}"
            raise ScenarioError(f"no such check; {hint}", path=f"--checks {key}")
    doc = copy.deepcopy(document)
    checks = doc.get("checks")
    doc["checks"] = {**(checks if isinstance(checks, dict) else {}), **overrides}
    return doc
