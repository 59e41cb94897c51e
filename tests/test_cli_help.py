"""The small things a new user meets first: help texts, YAML mistakes, whole counts."""

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import cli
from simulator.errors import ScenarioError
from simulator.scenario.loader import read_document

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [["run"], ["validate"], ["schema"], ["report"], ["export-metrics"], ["plot", "nnc"],
            ["compare"], ["calc"], ["plan"], ["sweep"], ["chart", "capacity"],
            ["trace", "inspect"], ["trace", "convert"], ["import"], ["calibrate"]]  # fmt: skip


def test_the_command_list_is_not_cut():
    done = subprocess.run([sys.executable, "-m", "simulator", "--help"], capture_output=True,
                          text=True, cwd=ROOT)  # fmt: skip
    listed = done.stdout.split("Commands:")[1].strip().splitlines()
    assert len(listed) == 14
    assert not [line for line in listed if line.endswith("...")]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_shows_an_example(command):
    done = CliRunner().invoke(cli, [*command, "--help"], terminal_width=100)
    assert done.exit_code == 0
    assert "Example" in done.output and f"ipsim {' '.join(command)} " in done.output


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("name: x\n  seed: 2\n", "check the indentation"),
        ("name: x\nnetwork:\n  vnets:\n    - name: v\n     subnets: []\n", "check the indentation"),
        ("name: x\nnetwork:\n\tvnets: []\n", "YAML indents with spaces, not tabs"),
    ],
)
def test_yaml_layout_mistakes_get_a_hint(tmp_path, text, hint):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match="invalid YAML: line") as error:
        read_document(path)
    assert f"(hint: {hint}" in str(error.value) and "\n" not in str(error.value)


def test_replica_spread_and_compare_medians_are_values_some_run_had(tmp_path):
    import numpy as np
    import pandas as pd

    from simulator.experiments.compare import replica_bands
    from simulator.experiments.replicas import Replicas

    table = pd.DataFrame({"replica": range(5), "seed": range(5), "nodes.created": [6, 6, 6, 7, 7],
                          "podsubnet.peak_allocated": [186, 186, 186, 199, 203]})  # fmt: skip
    spread = Replicas("x", [], table).spread()
    assert spread["nodes.created"] == {"median": 6, "p5": 6, "p95": 7, "min": 6, "max": 7}
    assert spread["podsubnet.peak_allocated"]["p95"] == 203
    frame = pd.DataFrame({"time_s": [0.0] * 4, "subnet": "s", "space": "vnet", "capacity": 10,
                          "allocated": [1, 2, 3, 4], "assigned": 0})  # fmt: skip
    bands = replica_bands([(f"r{i}", frame.iloc[[i]]) for i in range(4)])
    merged = replica_bands([("v", pd.concat([frame.iloc[[i]] for i in range(4)]))])
    assert len(bands) == 4 and merged["allocated"].tolist() == [2]
    assert merged[["allocated_p5", "allocated_p95"]].to_numpy().tolist() == [[1, 4]]
    assert np.issubdtype(merged["allocated"].dtype, np.integer)
