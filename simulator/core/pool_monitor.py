"""The node agent's (CNS) pool monitors, v1 and v2, as pure decisions.

Reference: reference/azure-cni.md §5–7. Pool monitor v1 (``cns/ipampool/monitor.go``)
looks at a node's counts and the NNC spec it last wrote, and decides one of: scale up by
one batch, scale down by one batch (or to batch alignment), re-patch ``ipsNotInUse``
after the control plane removed released addresses, or nothing. Pool monitor v2
(``cns/ipampool/v2/monitor.go``) computes a target from the node's demand and jumps to
it in one step. While the subnet is exhausted both ignore the configured batch. The model
applies the decisions; nothing here knows about time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "Action",
    "Decision",
    "DecisionV2",
    "PoolCounts",
    "Scaler",
    "ScalerV2",
    "decide_v1",
    "decide_v2",
    "target_v2",
]

#: CNS uses this maximum when the scaler leaves it unset.
DEFAULT_MAX_IPS = 250


@dataclass(frozen=True)
class Scaler:
    """The scaler settings the control plane publishes in the NNC status."""

    batch: int = 16
    request_threshold_percent: int = 50
    release_threshold_percent: int = 150
    max_ips: int = DEFAULT_MAX_IPS

    def clamped(self) -> Scaler:
        """Clamp as CNS does before use: max ≥ 1 (250 when unset), batch in [1, max],
        request % in [1, 100], release % ≥ request % + 100."""
        max_ips = self.max_ips if self.max_ips >= 1 else DEFAULT_MAX_IPS
        batch = min(max(self.batch, 1), max_ips)
        request = min(max(self.request_threshold_percent, 1), 100)
        release = max(self.release_threshold_percent, request + 100)
        return Scaler(batch, request, release, max_ips)

    def exhausted(self) -> Scaler:
        """The settings v1 uses while the subnet is exhausted: batch 1, minFree 1,
        maxFree 2 (50 % and 200 % of a batch of 1 give exactly those)."""
        return Scaler(1, 100, 200, self.max_ips)

    @property
    def min_free(self) -> int:
        """Fewest unassigned requested IPs before scaling up: ``int(B·req%/100 + 0.5)``.

        Evaluated in CNS's order, ``B × (req / 100)`` in doubles, so that values such as
        25 × 0.58 = 14.4999… round exactly as the node agent rounds them."""
        return int(float(self.batch) * (self.request_threshold_percent / 100) + 0.5)

    @property
    def max_free(self) -> int:
        """Free IPs at which the pool scales down: ``int(B·rel%/100 + 0.5)`` (CNS's order)."""
        return int(float(self.batch) * (self.release_threshold_percent / 100) + 0.5)


@dataclass(frozen=True)
class PoolCounts:
    """What the monitor reads on each reconcile."""

    requested: int  # spec.requestedIPCount last written
    assigned: int  # IPs assigned to pods
    held: int  # every secondary IP CNS knows (any state)
    pending_release: int  # IPs marked PendingRelease
    not_in_use: int  # len(spec.ipsNotInUse) last written

    @property
    def expected_available(self) -> int:
        return self.requested - self.assigned

    @property
    def current_available(self) -> int:
        return self.held - self.assigned - self.pending_release


class Action(Enum):
    NONE = "none"
    INCREASE = "increase"
    DECREASE = "decrease"
    CLEANUP = "cleanup"


@dataclass(frozen=True)
class Decision:
    """What to do: for DECREASE, ``release`` IPs are to be marked and the request drops
    by however many were actually marked; for INCREASE, ``requested`` is the new count."""

    action: Action
    requested: int
    release: int = 0


def decide_v1(scaler: Scaler, counts: PoolCounts, *, exhausted: bool = False) -> Decision:
    """One reconcile of pool monitor v1; the first matching rule wins."""
    s = scaler.clamped()
    if exhausted:
        s = s.exhausted()
    prev = counts.requested
    if counts.expected_available < s.min_free:
        if prev == s.max_ips:
            return Decision(Action.NONE, prev)
        # Above max (the max shrank) the "increase" caps the request back to max.
        return Decision(Action.INCREASE, min(prev + s.batch - prev % s.batch, s.max_ips))
    if counts.current_available >= s.max_free:
        remainder = prev % s.batch
        target = prev - remainder if remainder else prev - s.batch
        return Decision(Action.DECREASE, target, release=prev - target)
    if counts.not_in_use != counts.pending_release:
        return Decision(Action.CLEANUP, prev)
    return Decision(Action.NONE, prev)


# --- pool monitor v2 ------------------------------------------------------------------


@dataclass(frozen=True)
class ScalerV2:
    """What v2 reads from the NNC's scaler: batch, buffer (request % / 100) and max.

    The release threshold is ignored by v2."""

    batch: int = 16
    request_threshold_percent: int = 50
    max_ips: int = DEFAULT_MAX_IPS

    def clamped(self) -> ScalerV2:
        """As v2 clamps: max at most 250, batch in [1, max]."""
        max_ips = min(self.max_ips, DEFAULT_MAX_IPS)
        batch = min(max(self.batch, 1), max_ips)
        return ScalerV2(batch, abs(self.request_threshold_percent), max_ips)

    @property
    def buffer(self) -> float:
        return self.request_threshold_percent / 100


def target_v2(demand: int, batch: int, max_ips: int, buffer: float) -> int:
    """``min(max, B·ceil(buffer + D/B))``: the request v2 converges to in one step."""
    return min(batch * math.ceil(buffer + demand / batch), max_ips)


@dataclass(frozen=True)
class DecisionV2:
    """One v2 reconcile: the new request and how many addresses to mark PendingRelease.

    ``patch`` is False when the spec already says everything (nothing to write)."""

    target: int
    release: int
    patch: bool


def decide_v2(
    scaler: ScalerV2,
    *,
    demand: int,
    request: int,
    exhausted: bool = False,
    not_in_use_synced: bool = True,
) -> DecisionV2:
    """One reconcile of pool monitor v2.

    ``request`` is the count last patched; ``not_in_use_synced`` tells whether the spec's
    ``ipsNotInUse`` already lists exactly the PendingRelease addresses. While exhausted the
    batch is 1 and the buffer 1, so the request is demand + 1. Releasing ``-delta``
    addresses is all or nothing; the caller fails the step when too few are unassigned.
    """
    s = scaler.clamped()
    batch, buffer = (1, 1.0) if exhausted else (s.batch, s.buffer)
    target = target_v2(demand, batch, s.max_ips, buffer)
    delta = target - request
    return DecisionV2(target, max(-delta, 0), patch=delta != 0 or not not_in_use_synced)
