"""Pool monitor v1 of the node agent (CNS ``cns/ipampool/monitor.go``), as pure decisions.

Reference: reference/azure-cni.md §5. The monitor looks at a node's counts and the NNC
spec it last wrote, and decides one of: scale up by one batch, scale down by one batch
(or to batch alignment), re-patch ``ipsNotInUse`` after the control plane removed released
addresses, or nothing. The model applies the decision; nothing here knows about time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["Action", "Decision", "PoolCounts", "Scaler", "decide_v1"]

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


def decide_v1(scaler: Scaler, counts: PoolCounts) -> Decision:
    """One reconcile of pool monitor v1; the first matching rule wins."""
    s = scaler.clamped()
    prev = counts.requested
    if counts.expected_available < s.min_free:
        if prev >= s.max_ips:
            return Decision(Action.NONE, prev)
        return Decision(Action.INCREASE, min(prev + s.batch - prev % s.batch, s.max_ips))
    if counts.current_available >= s.max_free:
        remainder = prev % s.batch
        target = prev - remainder if remainder else prev - s.batch
        return Decision(Action.DECREASE, target, release=prev - target)
    if counts.not_in_use != counts.pending_release:
        return Decision(Action.CLEANUP, prev)
    return Decision(Action.NONE, prev)
