"""``ipsim compare`` over all five modes: the very same pods on each, one number to compare
them on (VNet addresses consumed), pod CIDR use, waits, failures and reach."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from simulator.core.modes import simulated_modes
from simulator.errors import IpsimError
from simulator.experiments.compare import compare
from simulator.experiments.runs import RunSpec, run_spec
from simulator.scenario.variants import apply_settings

from conftest import make_scenario

ROOT = Path(__file__).resolve().parent.parent
FIVE = ["traditional", "dynamic", "static-block", "overlay", "kubenet"]


def test_the_five_modes_are_the_simulated_ones():
    assert set(FIVE) == set(simulated_modes())


def test_five_modes_compared_on_vnet_addresses(tmp_path):
    result = compare(ROOT / "scenarios" / "five-modes.yaml", cnis=FIVE)
    table = result.variants.set_index("variant")
    assert list(table.index) == FIVE
    assert list(table["vnet_peak_addresses"]) == [192, 400, 195, 8, 8]
    assert list(table["pod_cidr_peak_blocks"]) == [0, 0, 0, 8, 8]
    # The scale to 8: traditional's 8 × 64 = 512 > 251 addresses, static block's
    # 8 × 4 = 32 > 30 /28s of the /23, both refused by the pre-flight check.
    assert list(table["operations_refused"]) == [1, 0, 1, 0, 0]
    assert list(table["nodes_failed"]) == [0, 0, 0, 0, 0]
    assert list(table["pods_waited"]) == [0, 145, 0, 0, 0]
    assert list(table["max_nodes"]) == [3, 10, 7, 251, 251]
    # Static block counts a /28 as one private address of the VNet: 3 nodes + 12 blocks.
    assert table.loc["static-block", "vnet_peak_mappings"] == 15
    spaces = result.table.set_index(["variant", "subnet"])["space"]
    assert spaces[("overlay", "pod_cidr:aks1")] == "pod_cidr"
    assert spaces[("overlay", "nodesubnet")] == "vnet"
    series = result.consumption
    peak = series.groupby("variant", sort=False)["vnet_allocated"].max()
    assert list(peak) == [192, 400, 195, 8, 8]  # on the 30 s grid, the same peaks
    out = result.save(tmp_path / "five")
    assert {p.name for p in out.iterdir()} == {
        "comparison.csv",
        "runs.csv",
        "comparison.png",
        "variants.csv",
        "consumption.png",
        ".ipsim-results.json",
    }
    assert list(pd.read_csv(out / "variants.csv")["vnet_peak_addresses"]) == [192, 400, 195, 8, 8]


def test_every_mode_replays_the_very_same_pods(tmp_path):
    doc = make_scenario(nodes=2, replicas=5, duration="6m")
    doc["workloads"].append(
        {
            "name": "etl",
            "kind": "job",
            "cluster": "aks1",
            "rate": "30/min",
            "lifetime": {"distribution": "exponential", "mean": "1m"},
        }
    )
    arrivals = []
    for cni in FIVE:
        pods = run_spec(
            RunSpec(apply_settings(doc, {}, cni), 9, str(tmp_path), keep_frames=True)
        ).pods
        jobs = pods[pods["pod"].str.startswith("etl-")]
        arrivals.append(jobs[["pod", "created_s"]].reset_index(drop=True))
    assert len(arrivals[0]) > 100
    for other in arrivals[1:]:
        pd.testing.assert_frame_equal(arrivals[0], other)


def test_a_combination_that_cannot_be_expressed_is_refused_naming_the_variant(tmp_path):
    doc = make_scenario(nodes=2)
    # A subnet inside 10.244.0.0/16: the default pod CIDR of Overlay would overlap it.
    doc["network"]["vnets"][0]["subnets"][1]["cidr"] = "10.244.0.0/16"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(IpsimError) as info:
        compare(path, cnis=["dynamic", "overlay"])
    assert str(info.value).startswith(
        f"{path}: variant overlay: clusters[aks1].pod_cidr: the default pod CIDR overlaps subnet "
        "'podsubnet' (10.244.0.0/16)"
    )
    # Setting one pod CIDR serves the modes that take one; the others drop it.
    result = compare(
        path, cnis=["dynamic", "overlay"], settings=[("clusters[0].pod_cidr", ["100.64.0.0/16"])]
    )
    assert set(result.variants["variant"]) == {"dynamic", "overlay"}


def test_the_scenario_reference_maps_each_mode_onto_the_aks_api_as_the_table_of_modes():
    from simulator.core.modes import MODES

    text = (ROOT / "docs" / "scenario-reference.md").read_text()
    section = text.split("## CNI modes and the AKS API", 1)[1].split("\n## ", 1)[0]
    rows = [
        [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| `")
    ]
    documented = {row[0]: row[1:] for row in rows[1:]}  # the header row first

    def cell(value: str | None) -> str:
        return value if value else "(none)"

    expected = {
        name: [
            spec.aks.network_plugin,
            cell(spec.aks.network_plugin_mode),
            "pod_subnet" if spec.pod_subnet else "(none)",
            cell(spec.aks.pod_ip_allocation_mode),
            "pod_cidr" if spec.pod_cidr else "(none)",
        ]
        for name, spec in MODES.items()
    }
    assert documented == expected
