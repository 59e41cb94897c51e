"""One output budget for the rows on the sample grid: ``subnets.csv`` and
``holders.csv`` together stay within ``ROW_BUDGET``, on a coarser grid when the
scenario's would give more (docs/outputs.md, "The output budget")."""

from __future__ import annotations

import pytest

import simulator
from simulator.core import sample_grid
from simulator.core.sample_grid import ROW_BUDGET, grid_points, grid_step
from simulator.errors import ScenarioError


def idle_subnets(count: int, duration: str = "30d", every: str = "1s") -> dict:
    """``count`` traditional node pools of one idle node, each in a subnet of its own."""
    return {
        "name": "many-subnets",
        "duration": duration,
        "sample_every": every,
        "network": {
            "vnets": [
                {
                    "name": "vnet",
                    "address_space": ["10.0.0.0/8"],
                    "subnets": [
                        {"name": f"s{i:02d}", "cidr": f"10.{i}.0.0/24"} for i in range(count)
                    ],
                }
            ]
        },
        "clusters": [
            {
                "name": "c",
                "cni": "traditional",
                "node_pools": [
                    {"name": f"p{i:02d}", "count": 1, "max_pods": 30, "node_subnet": f"s{i:02d}"}
                    for i in range(count)
                ],
            }
        ],
    }


def test_twenty_idle_subnets_share_one_budget():
    # 30 days sampled every second: 2,592,001 grid times for each of 20 subnets and
    # their 20 holders (one pool each) would be 103,680,040 rows. The budget allows
    # 1,000,000 // 40 = 25,000 grid times: 104 s gives ceil(2,592,000 / 104) + 1 = 24,925
    # (103 s would give 25,167).
    result = simulator.run(idle_subnets(20))
    assert result.scenario.sample_every == 104
    assert len(result.subnets) == 20 * 24_925
    assert len(result.holders) == 20 * 24_925
    assert len(result.subnets) + len(result.holders) == 997_000 <= ROW_BUDGET
    assert result.subnets["time_s"].iloc[:3].tolist() == [0, 104, 208]
    assert result.subnets["time_s"].iloc[-1] == 30 * 86_400
    assert result.summary["notes"] == [
        "sample grid coarsened from 1s to 104s: 40 series (used subnets and their holders) "
        "on the 1s grid would write 103,680,040 rows to subnets.csv and holders.csv, above "
        "the output budget of 1,000,000"
    ]
    # The resolved scenario carries the grid used (scenario.resolved.yaml, and the grid
    # export-metrics samples on).
    assert result.scenario.to_document()["sample_every"] == "104s"


def test_a_grid_within_the_budget_is_kept():
    # 20 subnets and 20 holders on 12,500 grid times: 500,000 rows, as asked.
    result = simulator.run(idle_subnets(20, duration="12499s", every="1s"))
    assert result.scenario.sample_every == 1
    assert len(result.subnets) + len(result.holders) == 40 * 12_500
    assert result.summary["notes"] == []


def test_a_billion_days_every_second_is_sampled_within_the_budget():
    # 86,400,000,000,001 grid times for 2 subnets and their 2 holders: every
    # 345,601,383 s instead (250,000 grid times), the run as cheap as its events.
    doc = idle_subnets(2, duration="1000000000d")
    result = simulator.run(doc)
    assert result.scenario.sample_every == 345_601_383
    assert len(result.subnets) == len(result.holders) == 2 * 250_000


def test_the_step_is_the_least_multiple_that_fits():
    assert grid_step(100, 1, 2, budget=1000) == 1  # 101 times x 2 rows
    assert grid_step(1000, 1, 2, budget=1000) == 3  # 2 x 335; 2 s gives 2 x 501
    assert grid_points(1000, 3) == 335 and grid_points(1000, 2) == 501
    assert grid_step(1000, 0.5, 10, budget=100) == 111.5  # 10 x 10 rows; 111 s: 10 x 11
    assert grid_step(10, 1, 50, budget=100) == 10  # the start and the end only
    assert grid_step(10, 1, 51, budget=100) is None


def test_no_grid_fits_is_refused_at_validation(monkeypatch):
    monkeypatch.setattr(sample_grid, "ROW_BUDGET", 60)
    with pytest.raises(ScenarioError) as refused:
        simulator.load_scenario(idle_subnets(20))
    assert str(refused.value) == (
        "clusters: give 40 series on the sample grid (each used subnet and each node pool's "
        "share of it): even a grid of the start and the end alone would write more than "
        "the output budget of 60 rows; split the scenario"
    )


def test_pools_the_timeline_adds_count_in_the_budget(monkeypatch):
    # 2 pools in subnets of their own: 4 series. A pool added at 1 h in a third subnet
    # makes 6, whose start-and-end grid needs 12 rows: refused with a budget of 10.
    doc = idle_subnets(3, duration="2h", every="1m")
    added = doc["clusters"][0]["node_pools"].pop()
    doc["timeline"] = [{"at": "1h", "add_node_pool": {"cluster": "c", "node_pool": added}}]
    monkeypatch.setattr(sample_grid, "ROW_BUDGET", 10)
    with pytest.raises(ScenarioError, match="give 6 series on the sample grid"):
        simulator.load_scenario(doc)
    monkeypatch.setattr(sample_grid, "ROW_BUDGET", 12)
    result = simulator.run(doc)  # the run's own count agrees with validation's
    assert result.scenario.sample_every == 2 * 3600
    assert len(result.subnets) + len(result.holders) == 6 * 2
