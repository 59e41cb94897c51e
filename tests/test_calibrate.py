"""``ipsim calibrate``: each node's requested and allocated addresses in a run against a
later NNC export (``kubectl get nnc -n kube-system -o json``)."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner
from exports import nnc, write

import simulator
from simulator.cli import cli
from simulator.results.calibrate import calibrate
from simulator.scenario.importer.exports import read_nnc

from conftest import make_scenario


def _results(tmp_path):
    doc = make_scenario(nodes=3, max_pods=30, replicas=20, duration="3m")
    out = tmp_path / "results"
    simulator.run(doc).save(out)
    return out


def test_a_run_against_an_export_node_by_node(tmp_path):
    out = _results(tmp_path)
    last = pd.read_csv(out / "nnc.csv").groupby("node").tail(1).set_index("node")
    sim = list(pd.read_csv(out / "nodes.csv")["node"])
    figures = [(int(last.loc[n, "requested_ips"]), int(last.loc[n, "secondary_ips"])) for n in sim]
    real = {f"aks-user-12345678-vmss00000{i}": f for i, f in enumerate(figures)}
    real["aks-user-12345678-vmss000001"] = (figures[1][0] + 16, figures[1][1] + 16)
    real["aks-other-99999999-vmss000000"] = (16, 16)
    table = calibrate(out, read_nnc(write(tmp_path, "nnc.json", nnc(real))))
    paired = table[table["node_pool"] == "user"].set_index("node")
    assert list(paired["simulated_node"]) == sim  # by position: sorted names, creation order
    assert list(paired["requested_diff"]) == [0, -16, 0]
    assert list(paired["allocated_diff"]) == [0, -16, 0]
    other = table[table["node_pool"] == "other"].iloc[0]
    assert other["simulated_node"] == "" and other["requested"] == 16
    got = CliRunner().invoke(
        cli,
        [
            "calibrate",
            str(out),
            "--nnc",
            str(tmp_path / "nnc.json"),
            "-o",
            str(tmp_path / "cal.csv"),
        ],
    )
    assert got.exit_code == 0, got.output
    lines = got.output.splitlines()
    assert lines[0] == "simulated (at the end of the run) against the NNC export, per node pool:"
    assert lines[1] == "other: no node on both sides (1 in the export, 0 simulated)"
    assert lines[2].startswith("user: 3 nodes in the export, 3 simulated; requested ")
    assert lines[2].endswith("mean |difference| per paired node: requested 5.3, allocated 5.3")
    assert lines[4].startswith(f"  aks-user-12345678-vmss000001 ({sim[1]}): requested ")
    assert pd.read_csv(tmp_path / "cal.csv").shape == (4, 9)


def test_calibrate_refuses_what_is_not_a_results_folder_or_an_nnc_export(tmp_path):
    write(tmp_path, "nnc.json", nnc({"aks-user-1-vmss000000": (16, 16)}))
    got = CliRunner().invoke(cli, ["calibrate", str(tmp_path), "--nnc", str(tmp_path / "nnc.json")])
    assert got.exit_code == 2 and got.output.strip() == (
        f"error: {tmp_path}: no nnc.csv: not an ipsim results folder"
    )
    out = _results(tmp_path)
    write(tmp_path, "pods.json", {"apiVersion": "v1", "kind": "PodList", "items": []})
    got = CliRunner().invoke(cli, ["calibrate", str(out), "--nnc", str(tmp_path / "pods.json")])
    assert got.exit_code == 2 and "pods.json: kind: expected NodeNetworkConfig" in got.output
