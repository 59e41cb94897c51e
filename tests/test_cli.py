"""The command line: run, validate, schema; errors are one line and exit status 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import make_scenario

ROOT = Path(__file__).resolve().parent.parent


def ipsim(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "simulator", *map(str, args)],
        capture_output=True, text=True, cwd=cwd,
    )  # fmt: skip


def test_run_writes_results_and_prints_a_summary(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(make_scenario(nodes=2, replicas=20)))
    done = ipsim("run", scenario, "-o", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "podsubnet" in done.stdout and "10.241.0.0/16" in done.stdout
    assert "pods: 20 created, 20 running" in done.stdout
    assert (tmp_path / "out" / "summary.json").exists()
    assert done.stderr == ""  # no progress bar when stderr is not a terminal


def test_run_defaults_to_results_name_and_refuses_to_overwrite(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(make_scenario(nodes=1, duration="1m")))
    assert ipsim("run", scenario, cwd=tmp_path).returncode == 0
    assert (tmp_path / "results" / "test" / "nnc.csv").exists()
    again = ipsim("run", scenario, cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "--force" in again.stderr
    assert ipsim("run", scenario, "--force", cwd=tmp_path).returncode == 0


def test_seed_option_is_recorded(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(make_scenario(nodes=1, duration="1m")))
    assert ipsim("run", scenario, "-o", tmp_path / "o", "--seed", "42").returncode == 0
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["seed"] == 42


def test_bad_scenario_gives_one_line_and_exit_2(tmp_path):
    doc = make_scenario()
    doc["clusters"][0]["node_pools"][0]["max_pods"] = 300
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(yaml.safe_dump(doc))
    for command in ("run", "validate"):
        done = ipsim(command, scenario)
        assert done.returncode == 2
        assert "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines() == [
            f"error: {scenario}: clusters[aks1].node_pools[user].max_pods: "
            "must be between 10 and 250 (got 300)"
        ]


def test_console_script_and_module_agree():
    exe = Path(sys.executable).with_name("ipsim")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout == ipsim("--help").stdout.replace("python -m simulator", "ipsim")
    for word in ("run", "validate", "schema"):
        assert word in out.stdout


def test_schema_is_json_schema_for_scenarios():
    done = ipsim("schema")
    schema = json.loads(done.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"name", "network", "clusters", "workloads", "timeline"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_ctrl_c_leaves_no_results_folder(tmp_path):
    import signal
    import time

    # Minutes of work if left alone: 4,000 pods come and go every 10 minutes for 30 days.
    doc = make_scenario(nodes=200, replicas=1000, duration="30d")
    doc["sample_every"] = "1m"
    doc["timeline"] = [
        {
            "at": f"{m}m",
            "scale_workload": {"workload": "web", "replicas": 1000 + 4000 * (m // 10 % 2)},
        }
        for m in range(10, 43200, 10)
    ]
    scenario = tmp_path / "long.yaml"
    scenario.write_text(yaml.safe_dump(doc))
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "run", str(scenario), "-o", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.yaml"]


def test_schema_accepts_the_shipped_scenarios_and_rejects_mistakes():
    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(ipsim("schema").stdout))
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == [], path
    doc = make_scenario()
    doc["clusters"][0]["node_pools"][0]["max_pod"] = 30
    doc["duration"] = "10 minutes"
    messages = " ".join(e.message for e in validator.iter_errors(doc))
    assert "max_pod" in messages and "10 minutes" in messages


#: Runs the console script's entry point with Ctrl-C pressed while it imports MODULE.
_INTERRUPTED_IMPORT = """
import sys

class PressCtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, PressCtrlC())
sys.argv = ["ipsim", "validate", "nothing.yaml"]
from simulator.__main__ import main
main()
"""


@pytest.mark.parametrize("module", ["click", "pydantic", "pandas", "simulator.cli"])
def test_ctrl_c_while_the_command_loads_is_one_line(module, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_IMPORT.format(module=module)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr == "interrupted: no results were written\n"
    assert done.stdout == ""


def test_the_package_loads_without_pandas_or_pydantic():
    """So that the entry point can catch Ctrl-C before the heavy modules load."""
    code = "import sys, simulator; print(sorted({'pandas', 'pydantic'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_options_are_refused_as_not_finite(tmp_path, value):
    from click.testing import CliRunner

    from simulator.cli import cli

    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(make_scenario(duration="1m")))
    runner = CliRunner()
    spelt = {"nan": ".nan", "inf": ".inf", "-inf": "-.inf"}[value]  # YAML's spelling
    done = runner.invoke(cli, ["plan", str(scenario), "--checks", f"max_ip_wait={spelt}"])
    assert done.exit_code == 2
    assert done.stderr == (
        f"error: {scenario}: checks.max_ip_wait: must be finite: a duration such as 30s, 10m, "
        f"2h or 1d (got {float(value):g})\n"
    )
    results = tmp_path / "r"
    assert runner.invoke(cli, ["run", str(scenario), "-o", str(results)]).exit_code == 0
    done = runner.invoke(cli, ["export-metrics", str(results), "--step", value])
    assert done.exit_code == 2
    assert done.stderr == f"error: --step: must be finite (got {float(value)!r})\n"
    assert not (tmp_path / "plan").exists() and not (results / "metrics.om").exists()


def test_a_sweep_whose_runs_all_fail_exits_2_as_compare_does(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(make_scenario(duration="1m")))
    bad = "clusters[aks1].node_pools[user].max_pods=5,6"
    expected = (
        f"error: {scenario}: every run failed; first error: clusters[aks1].node_pools[user]"
        ".max_pods: must be between 10 and 250 (got 5)"
    )
    from click.testing import CliRunner

    from simulator.cli import cli

    for command in ("sweep", "compare"):
        args = [command, str(scenario), "--set", bad, "-o", str(tmp_path / command), "-j", "1"]
        done = CliRunner().invoke(cli, args)
        assert done.exit_code == 2, done.stdout
        if command == "sweep":
            assert done.stderr.splitlines() == [expected]
        else:
            assert done.stderr.splitlines()[0].startswith(f"error: {scenario}: variant ")
        assert not (tmp_path / command).exists()
