"""Pool monitors v1 and v2 checked against the upstream CNS test cases.

The rules come from reference/azure-cni.md §5 (pool monitor v1), §6 (pool monitor v2) and
§7 (subnet exhaustion). The inputs and expected numbers re-encode the cases of the
upstream tests in ``Azure/azure-container-networking``: ``cns/ipampool/monitor_test.go``
(v1, several revisions) and ``cns/ipampool/v2/monitor_test.go`` (v2), plus the v2 target
calculation table from the same package. Where an upstream revision disagrees with the
reference, the reference wins and the case says so.

Upstream v1 tests drive a fake CNS through several reconciles; ``FakeNode`` below plays
that part: it holds the NNC spec (requested count, ipsNotInUse), the node's addresses by
state, applies ``decide_v1`` decisions as the model does, and has a control-plane step that
releases the listed PendingRelease addresses and tops the node up to the request.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from simulator.core.ip_pool import NodeIpPool
from simulator.core.pool_monitor import (
    Action,
    PoolCounts,
    Scaler,
    ScalerV2,
    decide_v1,
    decide_v2,
    target_v2,
)

# --- a fake node for multi-reconcile v1 cases --------------------------------------------


class FakeNode:
    """One node's CNS address states plus the NNC spec its pool monitor writes."""

    def __init__(
        self,
        scaler: Scaler,
        *,
        requested: int,
        assigned: int,
        held: int | None = None,
        pending_release: int = 0,
        exhausted: bool = False,
    ) -> None:
        self.scaler = scaler
        self.exhausted = exhausted
        self.requested = requested  # spec.requestedIPCount
        self.not_in_use: set[int] = set()  # spec.ipsNotInUse
        self._next_address = 0
        self.available: list[int] = self._new_addresses(requested if held is None else held)
        self.pending_programming: list[int] = []
        self.assigned: list[int] = []
        self.pending_release: set[int] = set()
        self.set_assigned(assigned)
        # Addresses already PendingRelease but not yet listed in the spec.
        assert len(self.mark_pending_release(pending_release)) == pending_release

    def _new_addresses(self, count: int) -> list[int]:
        first = self._next_address
        self._next_address += count
        return list(range(first, first + count))

    @property
    def held(self) -> int:
        return (
            len(self.available)
            + len(self.pending_programming)
            + len(self.assigned)
            + len(self.pending_release)
        )

    def counts(self) -> PoolCounts:
        return PoolCounts(
            requested=self.requested,
            assigned=len(self.assigned),
            held=self.held,
            pending_release=len(self.pending_release),
            not_in_use=len(self.not_in_use),
        )

    def set_assigned(self, count: int) -> None:
        """Pods come and go until exactly ``count`` addresses are Assigned."""
        while len(self.assigned) < count:
            self.assigned.append(self.available.pop(0))
        while len(self.assigned) > count:
            self.available.append(self.assigned.pop())

    def mark_pending_release(self, count: int) -> list[int]:
        """Up to ``count`` unassigned addresses: PendingProgramming first, then Available."""
        marked: list[int] = []
        for source in (self.pending_programming, self.available):
            while source and len(marked) < count:
                marked.append(source.pop())
        self.pending_release.update(marked)
        return marked

    def reconcile(self):
        """One pool monitor v1 pass, applied the way the model applies it."""
        decision = decide_v1(self.scaler, self.counts(), exhausted=self.exhausted)
        if decision.action is Action.INCREASE:
            self.requested = decision.requested
        elif decision.action is Action.DECREASE:
            marked = self.mark_pending_release(decision.release)
            self.requested -= len(marked)
            self.not_in_use = set(self.pending_release)
        elif decision.action is Action.CLEANUP:
            self.not_in_use = set(self.pending_release)
        return decision

    def control_plane(self, *, release: bool = True, programmed: bool = True) -> None:
        """Release the listed PendingRelease addresses, then top up to the request.

        New addresses arrive Available (already programmed) unless ``programmed`` is False.
        """
        if release:
            self.pending_release -= self.not_in_use
        missing = self.requested - self.held
        if missing > 0:
            target = self.available if programmed else self.pending_programming
            target.extend(self._new_addresses(missing))


# Steps of a multi-reconcile case.


@dataclass(frozen=True)
class Reconcile:
    """Run one reconcile; check the action and the spec afterwards (None: not checked)."""

    action: Action | None
    requested: int
    not_in_use: int | None = None
    held: int | None = None


@dataclass(frozen=True)
class Assign:
    """Pods start or stop until ``count`` addresses are Assigned."""

    count: int


@dataclass(frozen=True)
class Fulfil:
    """The control plane acts on the spec (see ``FakeNode.control_plane``)."""

    release: bool = True
    programmed: bool = True


@dataclass(frozen=True)
class Pool:
    """Check the node's address states."""

    available: int
    pending_programming: int
    pending_release: int


def run_steps(node: FakeNode, steps) -> None:
    for number, step in enumerate(steps, 1):
        where = f"step {number}: {step}"
        if isinstance(step, Reconcile):
            decision = node.reconcile()
            if step.action is not None:
                assert decision.action is step.action, where
            assert node.requested == step.requested, where
            if step.not_in_use is not None:
                assert len(node.not_in_use) == step.not_in_use, where
            if step.held is not None:
                assert node.held == step.held, where
        elif isinstance(step, Assign):
            node.set_assigned(step.count)
        elif isinstance(step, Fulfil):
            node.control_plane(release=step.release, programmed=step.programmed)
        elif isinstance(step, Pool):
            got = (
                len(node.available),
                len(node.pending_programming),
                len(node.pending_release),
            )
            want = (step.available, step.pending_programming, step.pending_release)
            assert got == want, where
        else:  # pragma: no cover - a mistake in the table
            raise TypeError(step)


INC, DEC, CLEAN, NONE = Action.INCREASE, Action.DECREASE, Action.CLEANUP, Action.NONE


# --- v1: thresholds and clamping ----------------------------------------------------------


@pytest.mark.parametrize(
    ("scaler", "min_free", "max_free"),
    [
        pytest.param(Scaler(16, 50, 150, 250), 8, 24, id="normal-16-50-150"),
        pytest.param(Scaler(16, 100, 200, 250), 16, 32, id="16-100pct-200pct"),
        pytest.param(Scaler(3, 50, 150, 250), 2, 5, id="odd-batch-3-rounds-half-up"),
        pytest.param(Scaler(1, 50, 150, 250), 1, 2, id="starvation-batch-1"),
        pytest.param(Scaler(10, 50, 150, 30), 5, 15, id="batch-10"),
        # release 100 % is clamped up to request + 100 = 130 %: 10 × 1.3 = 13.
        pytest.param(Scaler(10, 30, 100, 30), 3, 13, id="batch-10-30pct-release-clamped"),
        # batch 50 > max 30 is clamped to 30 before the thresholds are computed.
        pytest.param(Scaler(50, 50, 150, 30), 15, 45, id="batch-over-max-clamped-first"),
    ],
)
def test_v1_free_thresholds(scaler, min_free, max_free):
    s = scaler.clamped()
    assert (s.min_free, s.max_free) == (min_free, max_free)


@pytest.mark.parametrize(
    ("scaler", "min_free", "max_free"),
    [
        # B × (p / 100) in doubles lands just under .5; exact arithmetic would round up.
        pytest.param(Scaler(25, 58, 158), 14, 40, id="25x0.58-is-14.4999"),
        pytest.param(Scaler(50, 29, 129), 14, 65, id="50x0.29-is-14.4999"),
        pytest.param(Scaler(45, 70, 170), 31, 77, id="45x0.70-is-31.4999"),
        pytest.param(Scaler(25, 14, 114), 4, 28, id="max-free-25x1.14-is-28.4999"),
        pytest.param(Scaler(50, 100, 201), 50, 100, id="max-free-50x2.01-is-100.4999"),
        pytest.param(Scaler(30, 100, 205), 30, 61, id="max-free-30x2.05-is-61.4999"),
    ],
)
def test_v1_thresholds_round_in_cns_float_order(scaler, min_free, max_free):
    s = scaler.clamped()
    assert s == scaler  # already legal: only the rounding is under test
    assert (s.min_free, s.max_free) == (min_free, max_free)


@pytest.mark.parametrize(
    ("given", "clamped"),
    [
        pytest.param(Scaler(16, 50, 150, 250), Scaler(16, 50, 150, 250), id="valid-unchanged"),
        pytest.param(Scaler(16, 50, 150, 0), Scaler(16, 50, 150, 250), id="zero-max-gets-250"),
        pytest.param(Scaler(0, 50, 150, 250), Scaler(1, 50, 150, 250), id="zero-batch-to-1"),
        pytest.param(Scaler(20, 50, 150, 10), Scaler(10, 50, 150, 10), id="batch-over-max"),
        pytest.param(Scaler(16, 0, 200, 250), Scaler(16, 1, 200, 250), id="zero-request-to-1"),
        pytest.param(
            Scaler(16, 200, 400, 250), Scaler(16, 100, 400, 250), id="request-over-100-to-100"
        ),
        pytest.param(
            Scaler(16, 50, 100, 250), Scaler(16, 50, 150, 250), id="release-below-request+100"
        ),
        pytest.param(Scaler(0, 0, 0, 0), Scaler(1, 1, 101, 250), id="all-zeros"),
    ],
)
def test_v1_clamping(given, clamped):
    assert given.clamped() == clamped


def test_v1_exhausted_settings_are_batch_1_min_1_max_2():
    s = Scaler(16, 50, 150, 30).clamped().exhausted()
    assert (s.batch, s.min_free, s.max_free, s.max_ips) == (1, 1, 2, 30)


# --- v1: single reconciles ----------------------------------------------------------------


def counts(requested, assigned, held=None, pending_release=0, not_in_use=0):
    held = requested if held is None else held
    return PoolCounts(requested, assigned, held, pending_release, not_in_use)


@pytest.mark.parametrize(
    ("scaler", "state", "exhausted", "action", "requested", "release"),
    [
        # 16/100/200: minFree 16, maxFree 32.
        pytest.param(Scaler(16, 100, 200), counts(32, 17), False, INC, 48, 0, id="16-100-up"),
        pytest.param(Scaler(16, 100, 200), counts(32, 16), False, NONE, 32, 0, id="16-100-hold"),
        pytest.param(
            Scaler(16, 100, 200), counts(64, 32), False, DEC, 48, 16, id="16-200-down-at-32"
        ),
        pytest.param(
            Scaler(16, 100, 200), counts(64, 33), False, NONE, 64, 0, id="16-200-hold-at-31"
        ),
        # 3/50/150: minFree 2, maxFree 5.
        pytest.param(Scaler(3, 50, 150), counts(9, 8), False, INC, 12, 0, id="batch-3-up"),
        pytest.param(Scaler(3, 50, 150), counts(9, 7), False, NONE, 9, 0, id="batch-3-hold"),
        pytest.param(Scaler(3, 50, 150), counts(9, 4), False, DEC, 6, 3, id="batch-3-down"),
        pytest.param(
            Scaler(3, 50, 150), counts(10, 10), False, INC, 12, 0, id="batch-3-up-realigns"
        ),
        pytest.param(
            Scaler(3, 50, 150), counts(11, 5), False, DEC, 9, 2, id="batch-3-down-realigns"
        ),
        # Requests already at max: no increase, whatever the free count.
        pytest.param(
            Scaler(16, 50, 150, 30), counts(30, 29), False, NONE, 30, 0, id="at-max-no-increase"
        ),
        pytest.param(
            Scaler(50, 50, 150, 30), counts(30, 30), False, NONE, 30, 0, id="batch>max-at-max"
        ),
        pytest.param(
            Scaler(50, 50, 150, 30), counts(16, 16), False, INC, 30, 0, id="batch>max-up-to-max"
        ),
        # Exhausted: batch 1, minFree 1, maxFree 2.
        pytest.param(Scaler(10, 50, 150, 30), counts(10, 8), True, DEC, 9, 1, id="exh-down-1"),
        pytest.param(Scaler(10, 50, 150, 30), counts(10, 9), True, NONE, 10, 0, id="exh-hold"),
        pytest.param(Scaler(10, 50, 150, 30), counts(10, 10), True, INC, 11, 0, id="exh-up-1"),
        pytest.param(Scaler(10, 50, 150, 30), counts(30, 30), True, NONE, 30, 0, id="exh-at-max"),
    ],
)
def test_v1_single_reconcile(scaler, state, exhausted, action, requested, release):
    decision = decide_v1(scaler, state, exhausted=exhausted)
    assert (decision.action, decision.requested, decision.release) == (
        action,
        requested,
        release,
    )


# --- v1: multi-reconcile cases (the upstream fake-CNS tests) ------------------------------

V1_CASES = [
    pytest.param(
        Scaler(10, 50, 150, 30),
        {"requested": 10, "assigned": 8},
        [Reconcile(INC, 20, 0), Fulfil(), Reconcile(NONE, 20, 0, held=20)],
        id="increase-typical",
    ),
    pytest.param(
        Scaler(3, 50, 150, 30),
        {"requested": 10, "assigned": 10},
        [Reconcile(INC, 12, 0), Fulfil(), Reconcile(NONE, 12, 0, held=12)],
        id="increase-odd-batch-3",
    ),
    pytest.param(
        Scaler(10, 50, 150, 30),
        {"requested": 10, "assigned": 8, "exhausted": True},
        [Reconcile(DEC, 9, 1), Fulfil(), Reconcile(CLEAN, 9, 0, held=9)],
        id="increase-case-but-subnet-exhausted-shrinks-by-1",
    ),
    pytest.param(
        Scaler(10, 30, 150, 30),
        {"requested": 10, "assigned": 8},
        [
            Reconcile(INC, 20, 0),
            Assign(9),
            Reconcile(NONE, 20, 0),  # the increase is already in flight
            Fulfil(),
            Reconcile(NONE, 20, 0, held=20),
        ],
        id="increase-already-in-progress",
    ),
    pytest.param(
        Scaler(10, 30, 150, 30),
        {"requested": 10, "assigned": 8},
        [Reconcile(INC, 20, 0), Reconcile(NONE, 20, 0)],
        id="increase-idempotent",
    ),
    pytest.param(
        Scaler(16, 50, 150, 30),
        {"requested": 16, "assigned": 9},
        [
            Reconcile(INC, 30, 0),
            Fulfil(),
            Reconcile(NONE, 30, 0, held=30),
            Assign(25),
            Reconcile(NONE, 30, 0),  # requests already at max: no increase
        ],
        id="increase-past-node-limit-capped",
    ),
    pytest.param(
        Scaler(50, 50, 150, 30),
        {"requested": 16, "assigned": 16},
        [Reconcile(INC, 30, 0)],
        id="increase-batch-larger-than-max-clamped",
    ),
    pytest.param(
        Scaler(10, 50, 150, 30),
        {"requested": 20, "assigned": 15},
        [
            Reconcile(NONE, 20, 0),
            Assign(5),
            Reconcile(DEC, 10, 10),
            Fulfil(),
            Pool(available=5, pending_programming=0, pending_release=0),
            Reconcile(CLEAN, 10, 0, held=10),
        ],
        id="decrease-typical",
    ),
    pytest.param(
        Scaler(3, 50, 150, 30),
        {"requested": 21, "assigned": 19},
        [
            Assign(15),
            Reconcile(DEC, 18, 3),
            Reconcile(NONE, 18, 3),
            Fulfil(),
            Reconcile(CLEAN, 18, 0, held=18),
        ],
        id="decrease-odd-batch-3",
    ),
    pytest.param(
        Scaler(10, 50, 150, 30),
        {"requested": 20, "assigned": 15, "exhausted": True},
        [
            Reconcile(DEC, 19, 1),
            Reconcile(DEC, 18, 2),
            Reconcile(DEC, 17, 3),
            Reconcile(DEC, 16, 4),
            Reconcile(NONE, 16, 4),  # assigned + 1
            Fulfil(),
            Reconcile(CLEAN, 16, 0, held=16),
        ],
        id="decrease-exhausted-one-address-per-tick",
    ),
    pytest.param(
        Scaler(10, 30, 100, 30),
        {"requested": 20, "assigned": 5},
        [
            Reconcile(DEC, 10, 10),
            Assign(6),
            Reconcile(NONE, 10, 10),  # the decrease is already requested
            Fulfil(),
            Reconcile(CLEAN, 10, 0, held=10),
        ],
        id="decrease-when-decrease-already-requested",
    ),
    pytest.param(
        Scaler(10, 50, 150, 30),
        {"requested": 10, "assigned": 7},
        [
            Reconcile(INC, 20, 0),
            Fulfil(),
            Assign(0),
            Reconcile(DEC, 10, 10),
            Assign(7),
            Reconcile(INC, 20, 10),  # back up; the 10 pending releases stay listed
            Fulfil(release=False),
            Reconcile(NONE, 20, 10),
            Fulfil(),
            Reconcile(CLEAN, 20, 0, held=20),
            Reconcile(NONE, 20, 0),
        ],
        id="decrease-then-increase-to-same-count",
    ),
    pytest.param(
        Scaler(10, 30, 100, 30),
        {"requested": 30, "assigned": 23},
        [
            Reconcile(NONE, 30, 0),
            Assign(3),
            Reconcile(DEC, 20, 10),  # one batch per tick
            Reconcile(DEC, 10, 20),
            Reconcile(NONE, 10, 20),
            Fulfil(),
            Reconcile(CLEAN, 10, 0, held=10),
        ],
        id="decrease-to-really-low-over-two-ticks",
    ),
    pytest.param(
        Scaler(16, 50, 150, 30),
        {"requested": 30, "assigned": 20},
        [Reconcile(NONE, 30, 0), Assign(5), Reconcile(DEC, 16, 14)],
        id="decrease-after-node-limit-realigns-to-batch",
    ),
    pytest.param(
        Scaler(31, 50, 150, 30),
        {"requested": 30, "assigned": 30},
        [Reconcile(NONE, 30, 0), Assign(1), Reconcile(NONE, 30, 0)],
        id="decrease-batch-larger-than-max-stays",
    ),
    pytest.param(
        # A previous decrease left 8 PendingRelease addresses and a request of 48.
        Scaler(16, 50, 150, 250),
        {"requested": 48, "assigned": 46, "held": 64, "pending_release": 8},
        [
            Reconcile(INC, 64),
            Assign(40),
            Reconcile(None, 64, 8),
            Assign(30),
            Reconcile(DEC, 48, 16 + 8),  # the earlier 8 are still listed
        ],
        id="pending-release-carried-through-scale-up",
    ),
    pytest.param(
        Scaler(16, 50, 150, 250),
        {"requested": 32, "assigned": 16, "pending_release": 16},
        [
            Reconcile(CLEAN, 32, 16),
            Fulfil(),
            Reconcile(CLEAN, 32, 0, held=32),
        ],
        id="unlisted-pending-release-published-then-cleaned",
    ),
    pytest.param(
        Scaler(16, 50, 150, 250),
        {"requested": 16, "assigned": 9},
        [
            Reconcile(INC, 32, 0),
            Fulfil(programmed=False),
            Pool(available=7, pending_programming=16, pending_release=0),
            Assign(0),
            Reconcile(DEC, 16, 16),
            # PendingProgramming addresses go first; Available ones are kept.
            Pool(available=16, pending_programming=0, pending_release=16),
        ],
        id="decrease-marks-pending-programming-first",
    ),
]


@pytest.mark.parametrize(("scaler", "start", "steps"), V1_CASES)
def test_v1_reconcile_sequence(scaler, start, steps):
    run_steps(FakeNode(scaler, **start), steps)


@pytest.mark.parametrize(
    ("available", "pending_programming", "assigned", "count"),
    [
        pytest.param(5, 3, 4, 2, id="fewer-than-pending-programming"),
        pytest.param(5, 3, 4, 6, id="spills-into-available"),
        pytest.param(5, 3, 4, 20, id="never-assigned"),
        pytest.param(0, 0, 4, 3, id="nothing-unassigned"),
    ],
)
def test_fake_node_marks_like_node_ip_pool(available, pending_programming, assigned, count):
    """The fake's release order matches ``NodeIpPool.mark_pending_release``."""
    pool = NodeIpPool()
    pool.add_available(range(available + assigned))
    for owner in range(assigned):
        pool.assign(owner)
    pool.add_pending_programming(range(100, 100 + pending_programming))
    node = FakeNode(Scaler(), requested=available + assigned, assigned=assigned)
    node.pending_programming = list(range(100, 100 + pending_programming))

    marked_pool = pool.mark_pending_release(count)
    marked_node = node.mark_pending_release(count)

    assert marked_pool == marked_node
    assert len(marked_node) == min(count, available + pending_programming)
    assert (len(pool.available), len(pool.pending_programming), len(pool.assigned)) == (
        len(node.available),
        len(node.pending_programming),
        len(node.assigned),
    )
    assert len(pool.assigned) == assigned


# --- v2: target --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("demand", "target"),
    [
        pytest.param(0, 16, id="D0"),
        pytest.param(8, 16, id="D8"),
        pytest.param(9, 32, id="D9"),
        pytest.param(24, 32, id="D24"),
        pytest.param(25, 48, id="D25"),
        pytest.param(40, 48, id="D40"),
        pytest.param(41, 64, id="D41"),
        pytest.param(232, 240, id="D232"),
        pytest.param(233, 250, id="D233-capped"),
        pytest.param(1000, 250, id="D1000-capped"),
    ],
)
def test_v2_target_table_16_50(demand, target):
    assert target_v2(demand, 16, 250, 0.5) == target
    assert decide_v2(ScalerV2(16, 50, 250), demand=demand, request=target).patch is False


@pytest.mark.parametrize(
    ("demand", "batch", "buffer", "max_ips", "target"),
    [
        pytest.param(0, 16, 0.5, 250, 16, id="base-case"),
        pytest.param(8, 16, 0.5, 250, 16, id="half-batch-demand"),
        pytest.param(16, 16, 0.5, 250, 32, id="1x-demand"),
        pytest.param(32, 16, 0.5, 250, 48, id="2x-demand"),
        pytest.param(48, 16, 0.5, 250, 64, id="3x-demand"),
        pytest.param(10, 1, 0.5, 250, 11, id="batch-of-one"),
        pytest.param(10, 16, 0.0, 250, 16, id="zero-buffer"),
        pytest.param(13, 1, 0.0, 250, 13, id="zero-buffer-batch-of-one"),
        pytest.param(0, 16, 0.5, 100, 16, id="or-max-base-case"),
        pytest.param(500, 16, 0.5, 250, 250, id="or-max-clamped"),
    ],
)
def test_v2_target_upstream_table(demand, batch, buffer, max_ips, target):
    assert target_v2(demand, batch, max_ips, buffer) == target


@pytest.mark.parametrize(
    ("given", "clamped"),
    [
        pytest.param(ScalerV2(16, 50, 250), ScalerV2(16, 50, 250), id="valid-unchanged"),
        pytest.param(ScalerV2(16, 50, 300), ScalerV2(16, 50, 250), id="max-capped-at-250"),
        pytest.param(ScalerV2(0, 50, 250), ScalerV2(1, 50, 250), id="zero-batch-to-1"),
        pytest.param(ScalerV2(40, 50, 30), ScalerV2(30, 50, 30), id="batch-over-max"),
        pytest.param(ScalerV2(16, -50, 250), ScalerV2(16, 50, 250), id="buffer-absolute"),
    ],
)
def test_v2_clamping(given, clamped):
    assert given.clamped() == clamped


@pytest.mark.parametrize(
    ("demand", "requested", "target", "release"),
    [
        pytest.param(0, 16, 1, 15, id="D0-request-1"),
        pytest.param(5, 16, 6, 10, id="D5-request-6"),
        pytest.param(20, 32, 21, 11, id="D20-request-21"),
        pytest.param(21, 21, 22, 0, id="one-more-pod-one-more-address"),
        pytest.param(249, 240, 250, 0, id="D249-request-max"),
        pytest.param(300, 240, 250, 0, id="capped-at-max"),
    ],
)
def test_v2_exhausted_requests_demand_plus_one(demand, requested, target, release):
    decision = decide_v2(ScalerV2(16, 50, 250), demand=demand, request=requested, exhausted=True)
    assert (decision.target, decision.release, decision.patch) == (target, release, True)


# --- v2: one reconcile (upstream TestReconcile) ------------------------------------------


def reconcile_v2(
    *,
    demand: int,
    request: int,
    pending_release: int,
    available: int,
    mark_fails: bool = False,
    patch_fails: bool = False,
):
    """One v2 reconcile against a store of ``pending_release`` + ``available`` addresses.

    The spec initially lists no addresses. Marking is all or nothing, as in the model; the
    ``*_fails`` flags inject the store / API failures of the upstream table. Returns the
    decision, the request afterwards, the PendingRelease count afterwards and whether a
    patch was written.
    """
    decision = decide_v2(
        ScalerV2(16, 50, 250),
        demand=demand,
        request=request,
        not_in_use_synced=pending_release == 0,
    )
    if decision.release:
        if mark_fails or decision.release > available:
            return decision, request, pending_release, False
        pending_release += decision.release
    if not decision.patch or patch_fails:
        return decision, request, pending_release, False
    return decision, decision.target, pending_release, True


def v2_case(name, *, demand, request, store=(0, 0), want, after, **faults):
    """One row: ``store`` = (PendingRelease, Available) addresses; ``want`` = decided
    (target, release, patch); ``after`` = (request, PendingRelease, patch written)."""
    return pytest.param(demand, request, store, faults, want, after, id=name)


V2_CASES = [
    v2_case("no-delta", demand=5, request=16, want=(16, 0, False), after=(16, 0, False)),
    v2_case(
        "fail-to-release-injected",
        demand=6,
        request=32,
        store=(0, 32),
        mark_fails=True,
        want=(16, 16, True),
        after=(32, 0, False),
    ),
    v2_case(
        "fail-to-patch-injected",
        demand=20,
        request=16,
        patch_fails=True,
        want=(32, 0, True),
        after=(16, 0, False),
    ),
    v2_case("single-scale-up", demand=15, request=16, want=(32, 0, True), after=(32, 0, True)),
    v2_case("big-scale-up", demand=75, request=16, want=(96, 0, True), after=(96, 0, True)),
    v2_case("capped-scale-up", demand=300, request=16, want=(250, 0, True), after=(250, 0, True)),
    v2_case(
        "single-scale-down",
        demand=5,
        request=32,
        store=(0, 32),
        want=(16, 16, True),
        after=(16, 16, True),
    ),
    v2_case(
        "big-scale-down",
        demand=5,
        request=128,
        store=(0, 128),
        want=(16, 112, True),
        after=(16, 112, True),
    ),
    v2_case(
        "capped-scale-down",
        demand=0,
        request=32,
        store=(0, 32),
        want=(16, 16, True),
        after=(16, 16, True),
    ),
    v2_case("scale-up-unskew", demand=15, request=3, want=(32, 0, True), after=(32, 0, True)),
    v2_case(
        "scale-down-unskew",
        demand=5,
        request=37,
        store=(0, 37),
        want=(16, 21, True),
        after=(16, 21, True),
    ),
    v2_case(
        "scale-up-with-pending-release",
        demand=20,
        request=16,
        store=(16, 16),
        want=(32, 0, True),
        after=(32, 16, True),
    ),
    v2_case(
        "scale-down-with-pending-release",
        demand=5,
        request=32,
        store=(16, 32),
        want=(16, 16, True),
        after=(16, 32, True),
    ),
    # One upstream revision (527ee14) releases (non-pending addresses - target) = 0 here
    # and patches the request to 16. The reference rule marks -delta = 32 all or nothing:
    # only 16 addresses are unassigned, so none is marked, the request stays 48 and the
    # step is retried later.
    v2_case(
        "stale-request-existing-pending-release-reference-rule-not-upstream-527ee14",
        demand=5,
        request=48,
        store=(16, 16),
        want=(16, 32, True),
        after=(48, 16, False),
    ),
]


@pytest.mark.parametrize(("demand", "requested", "store", "faults", "want", "after"), V2_CASES)
def test_v2_reconcile_upstream_table(demand, requested, store, faults, want, after):
    pending_release, available = store
    decision, *got_after = reconcile_v2(
        demand=demand,
        request=requested,
        pending_release=pending_release,
        available=available,
        **faults,
    )
    assert (decision.target, decision.release, decision.patch) == want
    assert tuple(got_after) == after


def test_v2_patches_to_resync_not_in_use_without_delta():
    """No delta but the spec's ipsNotInUse is stale: patch anyway, release nothing."""
    decision = decide_v2(ScalerV2(16, 50, 250), demand=5, request=16, not_in_use_synced=False)
    assert (decision.target, decision.release, decision.patch) == (16, 0, True)
