"""Pool monitor v1 as pure decisions (reference §5), table-driven."""

import pytest

from simulator.core.pool_monitor import Action, Decision, PoolCounts, Scaler, decide_v1


@pytest.mark.parametrize(
    ("scaler", "min_free", "max_free"),
    [
        (Scaler(16, 50, 150), 8, 24),
        (Scaler(10, 50, 150), 5, 15),
        (Scaler(3, 50, 150), 2, 5),  # 1.5 rounds half up to 2; 4.5 to 5
        (Scaler(16, 100, 200), 16, 32),
        (Scaler(1, 50, 150), 1, 2),
    ],
)
def test_free_thresholds_round_half_up(scaler, min_free, max_free):
    s = scaler.clamped()
    assert (s.min_free, s.max_free) == (min_free, max_free)


def test_clamping_follows_cns():
    s = Scaler(
        batch=500, request_threshold_percent=0, release_threshold_percent=50, max_ips=30
    ).clamped()
    assert s.batch == 30
    assert s.request_threshold_percent == 1
    assert s.release_threshold_percent == 101
    assert Scaler(16, 150, 100, 0).clamped() == Scaler(16, 100, 200, 250)


def counts(requested, assigned, held=None, pending_release=0, not_in_use=0):
    held = requested if held is None else held
    return PoolCounts(requested, assigned, held, pending_release, not_in_use)


@pytest.mark.parametrize(
    ("scaler", "state", "action", "requested", "release"),
    [
        # Scale up by one batch when fewer than minFree requested IPs are unassigned.
        (Scaler(16, 50, 150), counts(16, 9), Action.INCREASE, 32, 0),
        (Scaler(16, 50, 150), counts(16, 8), Action.NONE, 16, 0),
        # Misaligned requests are rounded up to the next batch boundary.
        (Scaler(16, 50, 150), counts(20, 15), Action.INCREASE, 32, 0),
        # Capped at max, and nothing at all once the request is at max.
        (Scaler(16, 50, 150, 30), counts(16, 10), Action.INCREASE, 30, 0),
        (Scaler(16, 50, 150, 30), counts(30, 25), Action.NONE, 30, 0),
        # Batch larger than max is clamped to max.
        (Scaler(300, 50, 150, 250), counts(250, 249), Action.NONE, 250, 0),
        # Scale down one batch when currentAvailable >= maxFree.
        (Scaler(16, 50, 150), counts(48, 10, held=48), Action.DECREASE, 32, 16),
        (Scaler(16, 50, 150), counts(48, 24, held=48), Action.DECREASE, 32, 16),
        (Scaler(16, 50, 150), counts(48, 25, held=48), Action.NONE, 48, 0),
        # Misaligned request drops to alignment first.
        (Scaler(10, 50, 150), counts(25, 2, held=25), Action.DECREASE, 20, 5),
        # Pending release IPs do not count as available.
        (
            Scaler(16, 50, 150),
            counts(32, 9, held=48, pending_release=16, not_in_use=16),
            Action.NONE,
            32,
            0,
        ),
        # Cleanup once the control plane removed released IPs.
        (
            Scaler(16, 50, 150),
            counts(32, 10, held=32, pending_release=0, not_in_use=16),
            Action.CLEANUP,
            32,
            0,
        ),
        # Scale-up wins over everything; pending releases stay listed.
        (
            Scaler(16, 50, 150),
            counts(32, 30, held=48, pending_release=16, not_in_use=16),
            Action.INCREASE,
            48,
            0,
        ),
        # Thresholds 16/100/200 -> minFree 16, maxFree 32.
        (Scaler(16, 100, 200), counts(32, 17), Action.INCREASE, 48, 0),
        (Scaler(16, 100, 200), counts(64, 32, held=64), Action.DECREASE, 48, 16),
        (Scaler(16, 100, 200), counts(64, 33, held=64), Action.NONE, 64, 0),
        # Batch 3 -> minFree 2, maxFree 5.
        (Scaler(3, 50, 150), counts(3, 2), Action.INCREASE, 6, 0),
        (Scaler(3, 50, 150), counts(9, 4, held=9), Action.DECREASE, 6, 3),
        (Scaler(3, 50, 150), counts(9, 5, held=9), Action.NONE, 9, 0),
    ],
)
def test_decisions(scaler, state, action, requested, release):
    decision = decide_v1(scaler, state)
    assert decision.action is action
    assert decision.requested == requested
    assert decision.release == release


def test_thresholds_round_in_cns_float_order():
    # 25 × (58 / 100) is 14.4999… in doubles: CNS gets 14, not 15.
    assert Scaler(25, 58, 158).clamped().min_free == 14


def test_a_request_above_max_is_capped_back_to_max():
    # Only "at max" stops a scale-up; above it the increase rule lands on max.
    decision = decide_v1(Scaler(16, 50, 150, 30), PoolCounts(40, 35, 40, 0, 0))
    assert decision == Decision(Action.INCREASE, 30)
    at_max = decide_v1(Scaler(16, 50, 150, 30), PoolCounts(30, 25, 30, 0, 0))
    assert at_max.action is Action.NONE
