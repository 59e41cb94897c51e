"""Random streams: named, independent, and drawn in blocks without changing a number."""

import numpy as np
import pytest

from simulator.model.streams import Draws, Streams


@pytest.mark.parametrize(
    ("block", "single"),
    [
        (lambda rng, n: rng.exponential(7.5, n), lambda rng: float(rng.exponential(7.5))),
        (
            lambda rng, n: rng.lognormal(np.log(30.0), 1.1, n),
            lambda rng: float(rng.lognormal(np.log(30.0), 1.1)),
        ),
        (lambda rng, n: rng.integers(977, size=n), lambda rng: int(rng.integers(977))),
    ],
    ids=["exponential", "lognormal", "integers"],
)
def test_block_draws_equal_single_draws(block, single):
    blocked, one_by_one = Streams(3).get("a"), Streams(3).get("a")
    draws = Draws(lambda n: block(blocked, n))
    count = 3 * Draws.BLOCK + 17  # across block boundaries
    assert [draws() for _ in range(count)] == [single(one_by_one) for _ in range(count)]


def test_streams_are_named_and_repeatable():
    streams = Streams(11)
    assert streams.get("x") is streams.get("x")
    first = streams.get("x").random(4).tolist()
    assert Streams(11).get("x").random(4).tolist() == first
    assert Streams(11).get("y").random(4).tolist() != first
    assert Streams(12).get("x").random(4).tolist() != first
