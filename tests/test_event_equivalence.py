"""The model's event-driven shortcuts give exactly the outputs of their literal references.

Pending pods are indexed by what they need, so a scheduling pass looks only at what
changed (``literal_schedule`` walks every pending pod in every pass, as the scheduler's
definition reads). Random worlds of every CNI mode, with deployments, jobs, daemonsets,
requests, the autoscaler, rollouts, upgrades and node deletions, must give the same
frames and summary both ways.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from test_properties import worlds

import simulator

from conftest import examples

FRAMES = ("subnets", "nnc", "nodes", "pods", "events", "holders")


def assert_same_outputs(a: simulator.Result, b: simulator.Result) -> None:
    for frame in FRAMES:
        pd.testing.assert_frame_equal(getattr(a, frame), getattr(b, frame), obj=frame)
    assert a.summary == b.summary


@settings(max_examples=examples(30))
@given(worlds())
def test_the_pending_index_binds_as_walking_every_pending_pod(doc):
    assert_same_outputs(simulator.run(doc), simulator.run(doc, literal_schedule=True))
