"""Subnet exhaustion (reference §7): the hysteresis flag and what CNS does while it is set."""

import itertools
from pathlib import Path

import pandas as pd
import pytest
import yaml

import simulator

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _small(scenario_doc, *, upper=80, lower=10, monitor="v1", enabled=True):
    # Three nodes with 2 pods each on a /26 (59 usable): 3 × (16 + 1) = 51 allocated,
    # 86 % of the subnet, once the first batches land at 5 s.
    doc = scenario_doc(nodes=3, pod_cidr="10.241.0.0/26", replicas=6)
    doc["clusters"][0]["ipam"] = {"pool_monitor": monitor}
    doc["network"]["exhaustion"] = {
        "enabled": enabled,
        "upper_percent": upper,
        "lower_percent": lower,
    }
    return doc


def _steps(result, node):
    rows = result.nnc[result.nnc["node"] == node][["time_s", "requested_ips"]]
    steps = []
    for time_s, requested in rows.itertuples(index=False):
        if not steps or steps[-1][1] != requested:
            steps.append((time_s, requested))
    return steps


def test_v1_shrinks_one_address_per_tick_to_assigned_plus_one(scenario_doc):
    result = simulator.run(_small(scenario_doc))
    flips = result.events[result.events["kind"] == "subnet_exhausted"]
    # Allocated changes at 5 s; the control plane's next poll (every 10 s) is at 10 s.
    assert flips["time_s"].tolist() == [10.0]
    assert "51 of 59 usable addresses allocated" in flips.iloc[0]["message"]
    for node in result.nodes["node"]:
        steps = _steps(result, node)
        # batch 1, maxFree 2: one address per 1 s tick, from 16 down to 2 pods + 1. The
        # poll runs after the ticks of its instant, so CNS first acts on it at 11 s.
        assert steps[0] == (0.0, 16)
        assert steps[1:6] == [(10.0 + i, 16 - i) for i in range(1, 6)]
        # A new NNC status is a reconcile of its own on top of the tick: at most 2 a second.
        drops = [(a[1] - b[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(steps)]
        assert all(0 < d <= 2 for d in drops)
        assert steps[-1][1] == 3
    final = result.nnc.groupby("node").tail(1)
    assert final["secondary_ips"].tolist() == [3, 3, 3]
    assert set(final["exhausted"]) == {True}
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == 3 * 4


def test_flag_has_hysteresis_and_is_reported(scenario_doc):
    # Lower threshold 30 %: shrinking to 12 of 59 (20 %) clears the flag; the nodes then
    # grow back to a batch each and the subnet is exhausted again.
    result = simulator.run(_small(scenario_doc, lower=30))
    kinds = result.events[result.events["kind"].str.startswith("subnet_")]
    assert kinds["kind"].tolist()[:3] == [
        "subnet_exhausted",
        "subnet_recovered",
        "subnet_exhausted",
    ]
    summary = result.summary["subnets"]["podsubnet"]
    assert summary["exhausted_count"] == kinds["kind"].eq("subnet_exhausted").sum()
    # subnets.csv carries the flag on its grid: set at 10 s, as the events say.
    grid = result.subnets[result.subnets["subnet"] == "podsubnet"].set_index("time_s")
    assert not grid.loc[0.0, "exhausted"] and grid.loc[10.0, "exhausted"]
    flips = kinds[["time_s", "kind"]].values.tolist()
    on = 0.0
    for (t0, k0), (t1, _) in itertools.pairwise([*flips, [600.0, ""]]):
        if k0 == "subnet_exhausted":
            on += t1 - t0
    assert summary["exhausted_s"] == pytest.approx(on)
    # The node subnet is never marked: exhaustion is a pod-subnet state.
    assert result.summary["subnets"]["nodesubnet"]["exhausted_count"] == 0


def test_no_flag_at_or_below_the_upper_threshold(scenario_doc):
    # 51 of 59 is 86.4 %: not above 87 %.
    result = simulator.run(_small(scenario_doc, upper=87))
    assert result.summary["subnets"]["podsubnet"]["exhausted_count"] == 0
    assert result.nnc.groupby("node").tail(1)["requested_ips"].tolist() == [16, 16, 16]


def test_disabled_exhaustion_keeps_batches(scenario_doc):
    result = simulator.run(_small(scenario_doc, enabled=False))
    assert (result.events["kind"] == "subnet_exhausted").sum() == 0
    assert not result.nnc["exhausted"].any()
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == 51


def test_lower_threshold_must_be_below_upper(scenario_doc):
    doc = _small(scenario_doc, upper=80, lower=80)
    with pytest.raises(simulator.ScenarioError) as err:
        simulator.load_scenario(doc)
    assert str(err.value).startswith("network.exhaustion.lower_percent: must be below")


def test_rescue_scenario_survives_only_with_exhaustion():
    doc = yaml.safe_load((SCENARIOS / "exhaustion-rescue.yaml").read_text())
    rescued = simulator.run(doc)
    doc["network"]["exhaustion"]["enabled"] = False
    stranded = simulator.run(doc)
    # Without exhaustion mode one node's second batch is refused and 4 pods never get an
    # address: they wait from 5 min until the scale-down at 14 min deletes them.
    assert stranded.summary["subnets"]["podsubnet"]["peak_assigned"] == 156
    assert stranded.summary["pods"]["ip_wait_s"]["max"] == pytest.approx(540.0)
    # With it every node shrinks to pods + 1 and the refused request is filled.
    subnet = rescued.summary["subnets"]["podsubnet"]
    assert subnet["peak_assigned"] == 160
    assert rescued.summary["pods"]["ip_wait_s"]["max"] <= 30.0
    kinds = rescued.events[rescued.events["kind"].str.startswith("subnet_")]
    assert kinds[["time_s", "kind"]].values.tolist() == [
        [305.0, "subnet_full"],
        [310.0, "subnet_exhausted"],
        [880.0, "subnet_recovered"],
    ]
    grid = rescued.subnets[rescued.subnets["subnet"] == "podsubnet"].set_index("time_s")
    assert grid.loc[600.0, "allocated"] == 8 * (20 + 1 + 1)
    # After the flag clears the nodes hold whole batches again: 8 pods each -> 16.
    assert subnet["final_allocated"] == 8 * 17 and subnet["exhausted_s"] == 570.0


@pytest.mark.parametrize("monitor", ["v1", "v2"])
def test_event_driven_equals_literal_tickers_under_flapping(scenario_doc, monitor):
    doc = _small(scenario_doc, lower=30, monitor=monitor)
    doc["timeline"] = [
        {"at": "95s", "scale_workload": {"workload": "web", "replicas": 40}},
        {"at": "200.5s", "scale_workload": {"workload": "web", "replicas": 3}},
    ]
    event = simulator.run(doc)
    literal = simulator.run(doc, literal_tick=True)
    assert (event.events["kind"] == "subnet_exhausted").sum() >= 2
    pd.testing.assert_frame_equal(event.nnc, literal.nnc)
    pd.testing.assert_frame_equal(event.events, literal.events)
    assert event.summary == literal.summary
