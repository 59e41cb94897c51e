"""CNS metrics export (reference §11) and the per-node chart, from a results folder."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

import simulator
from simulator.results.metrics import (
    DEFAULT_START,
    MAX_ROWS,
    METRICS,
    MetricsError,
    load_series,
    parse_start,
    write_metrics,
)

from conftest import make_scenario

ROOT = Path(__file__).resolve().parent.parent


def ipsim(*args):
    return subprocess.run(
        [sys.executable, "-m", "simulator", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    # Three nodes with 20 pods each; a fourth node joins at 2 min and leaves at 6 min.
    doc = make_scenario(
        nodes=3,
        replicas=60,
        timeline=[
            {"at": "2m", "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 4}},
            {"at": "6m", "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 3}},
        ],
        timings={"node_provision": "30s"},
    )
    return simulator.run(doc).save(tmp_path_factory.mktemp("r") / "run")


def test_openmetrics_parses_back_with_every_cns_series(results, tmp_path):
    path, samples = write_metrics(results, tmp_path / "m.om")
    text = path.read_text()
    assert text.endswith("# EOF\n")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert list(families) == [m.name for m in METRICS]
    start = parse_start(DEFAULT_START)
    seen = 0
    for family in families.values():
        assert family.type == "gauge"
        for sample in family.samples:
            assert set(sample.labels) == {"node", "subnet", "subnet_cidr"}
            assert sample.labels["subnet_cidr"] == "10.241.0.0/16"
            assert float(sample.timestamp) >= start
            seen += 1
    assert seen == samples
    # The last sample of an original node: 20 pods, a request of 32, 32 + 1 held.
    node = "aks-user-09019107-vmss000000"
    end = start + 600

    def value(name):
        (v,) = [
            s.value
            for s in families[name].samples
            if s.labels["node"] == node and float(s.timestamp) == end
        ]
        return v

    assert value("cx_ipam_requested_ips") == 32
    assert value("cx_ipam_total_ips") == 33
    assert value("cx_ipam_secondary_ips") == 32
    assert value("cx_ipam_primary_ips") == 1
    assert value("cx_ipam_pod_allocated_ips") == 20
    assert value("cx_ipam_available_ips") == 12
    assert value("cx_ipam_current_available_ips") == 12
    assert value("cx_ipam_expect_available_ips") == 12
    assert value("cx_ipam_pending_release_ips") == 0
    assert value("cx_ipam_pending_programming_ips") == 0
    assert value("cx_ipam_batch_size") == 16
    assert value("cx_ipam_max_ips") == 250
    assert value("cx_ipam_subnet_exhaustion_state") == 0


def test_series_follow_nnc_and_stop_when_a_node_goes(results):
    series = load_series(results)
    nodes = pd.read_csv(results / "nodes.csv").set_index("node")
    nnc = pd.read_csv(results / "nnc.csv")
    for node, rows in series.groupby("node"):
        first = nnc[nnc["node"] == node]["time_s"].min()
        assert rows["time_s"].min() >= first
        deleted = nodes.at[node, "deleted_s"]
        if pd.notna(deleted):
            assert rows["time_s"].max() < deleted
    assert series["node"].nunique() == 4
    # Identities CNS's observer uses.
    assert (
        series["cx_ipam_total_ips"]
        == series["cx_ipam_secondary_ips"] + series["cx_ipam_primary_ips"]
    ).all()
    assert (
        series["cx_ipam_expect_available_ips"]
        == series["cx_ipam_requested_ips"] - series["cx_ipam_pod_allocated_ips"]
    ).all()
    # Sampled on the run's 10 s grid, each sample the node's state then.
    times = sorted(set(series["time_s"]))
    assert times[:3] == [0.0, 10.0, 20.0] and times[-1] == 600.0


def test_step_option_resamples(results):
    series = load_series(results, step=60)
    assert sorted(set(series["time_s"]))[:3] == [0.0, 60.0, 120.0]


def test_cli_writes_csv_and_openmetrics_and_refuses_to_overwrite(results, tmp_path):
    out = tmp_path / "m.csv"
    done = ipsim("export-metrics", results, "--format", "csv", "-o", out)
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns[:4]) == ["time_s", "subnet", "subnet_cidr", "node"]
    again = ipsim("export-metrics", results, "--format", "csv", "-o", out)
    assert again.returncode == 2 and "use --force" in again.stderr
    om = tmp_path / "m.om"
    done = ipsim("export-metrics", results, "-o", om, "--start", "2026-03-01T12:00:00Z")
    assert done.returncode == 0, done.stderr
    first = next(line for line in om.read_text().splitlines() if not line.startswith("#"))
    assert first.endswith(f" {parse_start('2026-03-01T12:00:00Z'):.3f}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "yesterday"], "--start: not an ISO 8601 date and time"),
        (["--step", "0"], "--step: must be a positive number of seconds"),
    ],
)
def test_cli_bad_options_are_one_line(results, tmp_path, args, message):
    done = ipsim("export-metrics", results, "-o", tmp_path / "x.om", *args)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_cli_refuses_a_folder_that_is_not_results(tmp_path):
    done = ipsim("export-metrics", tmp_path)
    assert done.returncode == 2
    assert (
        done.stderr.strip() == f"error: {tmp_path}: not a results folder (summary.json is missing)"
    )


def test_traditional_nodes_have_no_cns_metrics(tmp_path):
    out = simulator.run(make_scenario(cni="traditional", nodes=2, replicas=10)).save(tmp_path / "r")
    assert load_series(out).empty
    path, samples = write_metrics(out, tmp_path / "m.om")
    assert samples == 0 and path.read_text().endswith("# EOF\n")


def test_exhaustion_state_shows_in_the_metrics(tmp_path):
    doc = make_scenario(nodes=3, pod_cidr="10.241.0.0/26", replicas=6)
    doc["network"]["exhaustion"] = {"enabled": True, "upper_percent": 80, "lower_percent": 10}
    series = load_series(simulator.run(doc).save(tmp_path / "r"))
    at = series.groupby("time_s")["cx_ipam_subnet_exhaustion_state"].max()
    # Set by the poll at 10 s; a sample holds the state at the end of its instant.
    assert at[0.0] == 0 and at[10.0] == 1 and at[600.0] == 1
    # Batch size stays the configured 16: CNS overrides it only inside the monitor.
    assert set(series["cx_ipam_batch_size"]) == {16}


def test_plot_nnc_draws_one_node(results, tmp_path):
    out = tmp_path / "node.png"
    done = ipsim("plot", "nnc", results, "--node", "aks-user-09019107-vmss000001", "-o", out)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = ipsim("plot", "nnc", results, "--node", "aks-user-09019107-vmss000001", "-o", out)
    assert again.returncode == 2 and "use --force" in again.stderr


def test_plot_nnc_unknown_node_suggests_the_closest(results):
    done = ipsim("plot", "nnc", results, "--node", "aks-user-09019107-vmss00001")
    assert done.returncode == 2
    assert "did you mean 'aks-user-09019107-vmss000001'?" in done.stderr


def test_export_is_deterministic(results, tmp_path):
    a, _ = write_metrics(results, tmp_path / "a.om")
    b, _ = write_metrics(results, tmp_path / "b.om")
    assert a.read_bytes() == b.read_bytes()
    assert json.loads((results / "summary.json").read_text())["duration_s"] == 600.0


def test_prometheus_backfills_the_export(results, tmp_path):
    """promtool (Debian's prometheus package; make test installs it) turns metrics.om into
    TSDB blocks holding every CNS series of every node."""
    import shutil

    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: make test installs it (apt-get install prometheus)"
    path, samples = write_metrics(results, tmp_path / "m.om")
    data = tmp_path / "tsdb"
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(path), str(data)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (data / "wal").mkdir()  # dump opens the database as Prometheus would, WAL and all
    listed = subprocess.run([promtool, "tsdb", "list", str(data)], capture_output=True, text=True)
    assert listed.returncode == 0 and "BLOCK ULID" in listed.stdout
    dump = subprocess.run(
        [promtool, "tsdb", "dump", "--match", '{__name__=~"cx_ipam_.+"}', str(data)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert dump.returncode == 0, dump.stderr
    series = {}
    for line in dump.stdout.splitlines():
        labels, value, _stamp = line.rsplit(" ", 2)
        series.setdefault(labels, []).append(float(value))
    nodes = {re.search(r' node="([^"]+)"', key).group(1) for key in series}
    names = {re.search(r'__name__="([^"]+)"', key).group(1) for key in series}
    assert names == {m.name for m in METRICS} and len(nodes) == 4
    assert sum(map(len, series.values())) == samples
    key = next(k for k in series if '"cx_ipam_pod_allocated_ips"' in k and "vmss000000" in k)
    assert series[key][-1] == 20


def _invoke(*args):
    from click.testing import CliRunner

    from simulator.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def test_export_says_why_a_run_has_no_series_and_spots_a_scenario_file(tmp_path):
    out = simulator.run(make_scenario(cni="traditional", nodes=1, replicas=5)).save(tmp_path / "r")
    done = _invoke("export-metrics", out)
    assert done.exit_code == 0, done.output
    assert "no series: no cluster keeps a CNS pool: traditional has no NNC pool monitor" in (
        done.output
    )
    scenario = ROOT / "scenarios" / "quickstart.yaml"
    for args in (("export-metrics", scenario), ("plot", "nnc", scenario, "--node", "x")):
        done = _invoke(*args)
        assert done.exit_code == 2
        assert "is a scenario file, not a results folder; run it first" in done.output


def test_plot_nnc_unknown_node_lists_the_nodes(results):
    done = _invoke("plot", "nnc", results, "--node", "nope")
    assert done.exit_code == 2
    assert "nodes in nnc.csv: aks-user-09019107-vmss000000, aks-user-09019107-vmss000001" in (
        done.output
    )


# --- damaged and edited results ---------------------------------------------------------


def _edit_csv(name, change):
    def edit(folder):
        frame = pd.read_csv(folder / name, keep_default_na=False, dtype=str)
        changed = change(frame)  # a new frame, or None when it changed this one
        (frame if changed is None else changed).to_csv(folder / name, index=False)

    return edit


def _text(name, content):
    def edit(folder):
        data = content(folder) if callable(content) else content
        (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())

    return edit


def _summary(change):
    def edit(folder):
        data = json.loads((folder / "summary.json").read_text())
        data = change(data)
        (folder / "summary.json").write_text(json.dumps(data))

    return edit


def _set_cell(column, value, row=0):
    def change(frame):
        frame.loc[row, column] = value

    return change


#: (edit of a results folder, fragment of the one error line export-metrics prints)
TAMPERED = {
    "nnc-binary": (_text("nnc.csv", bytes(range(256)) * 8), "nnc.csv: not a CSV file"),
    "nnc-empty": (_text("nnc.csv", ""), "nnc.csv: not a CSV file (No columns to parse"),
    "nnc-missing-column": (
        _edit_csv("nnc.csv", lambda f: f.drop(columns=["requested_ips"])),
        "nnc.csv: column requested_ips is missing; is it a results file as ipsim wrote it?",
    ),
    "nnc-nan-count": (
        _edit_csv("nnc.csv", _set_cell("assigned_ips", "nan")),
        "nnc.csv: line 2, column assigned_ips: must be a whole number from 0 to 4294967296 "
        "(got 'nan')",
    ),
    "nnc-text-count": (
        _edit_csv("nnc.csv", _set_cell("secondary_ips", "many", 3)),
        "line 5, column secondary_ips: must be a whole number",
    ),
    "nnc-huge-count": (
        _edit_csv("nnc.csv", _set_cell("max_ips", "1e300")),
        "column max_ips: must be a whole number from 0 to 4294967296 (got 1e+300)",
    ),
    "nnc-fraction": (
        _edit_csv("nnc.csv", _set_cell("batch_size", "2.5")),
        "column batch_size: must be a whole number",
    ),
    "nnc-negative-time": (
        _edit_csv("nnc.csv", _set_cell("time_s", "-5")),
        "line 2, column time_s: must be a time from 0 to the run's 600 s (got -5)",
    ),
    "nnc-time-after-the-end": (
        _edit_csv("nnc.csv", _set_cell("time_s", "1e9")),
        "column time_s: must be a time from 0 to the run's 600 s",
    ),
    "nnc-time-backwards": (
        _edit_csv("nnc.csv", lambda f: f.__setitem__("time_s", f["time_s"].iloc[::-1].values)),
        "goes back in time",
    ),
    "nnc-flag": (_edit_csv("nnc.csv", _set_cell("exhausted", "maybe")), "must be True or False"),
    "nnc-empty-node": (_edit_csv("nnc.csv", _set_cell("node", "")), "column node: must be a name"),
    "summary-not-json": (_text("summary.json", "{nope"), "summary.json: not valid JSON"),
    "summary-a-list": (_text("summary.json", "[1, 2]"), "duration_s must be a positive number"),
    "summary-deep": (_text("summary.json", "[" * 100_000), "summary.json: not valid JSON"),
    "summary-nan-duration": (
        _summary(lambda d: {**d, "duration_s": float("nan")}),
        "duration_s must be a positive number of seconds (got nan)",
    ),
    "summary-text-duration": (
        _summary(lambda d: {**d, "duration_s": "600"}),
        "duration_s must be a positive number of seconds (got '600')",
    ),
    "summary-no-subnets": (
        _summary(lambda d: {**d, "subnets": 3}),
        "subnets must map each subnet to its figures and cidr",
    ),
    "summary-endless-run": (
        _summary(lambda d: {**d, "duration_s": 1e300}),
        "the run's sample interval (10 s) over 1e+300 s gives about 4e+299 rows",
    ),
    "scenario-not-a-mapping": (
        _text("scenario.resolved.yaml", "clusters: 5\n"),
        "clusters must be a list of clusters with names",
    ),
    "scenario-python-tag": (
        _text("scenario.resolved.yaml", "!!python/object/apply:os.system ['true']\n"),
        "scenario.resolved.yaml: invalid YAML",
    ),
    "nodes-twice": (
        _edit_csv("nodes.csv", lambda f: f.loc.__setitem__((1, "node"), f.loc[0, "node"])),
        "nodes.csv: line 3: node 'aks-user-09019107-vmss000000' twice",
    ),
    "nodes-bad-deletion": (
        _edit_csv("nodes.csv", _set_cell("deleted_s", "soon")),
        "nodes.csv: line 2, column deleted_s: must be a time",
    ),
    "nodes-missing-node": (
        _edit_csv("nodes.csv", lambda f: f.drop(index=0)),
        "node 'aks-user-09019107-vmss000000' of nnc.csv is missing",
    ),
    "subnets-one-row": (
        _text("subnets.csv", "time_s,subnet\n0.0,podsubnet\n"),
        "subnets.csv: the first two rows must be sample times 0 and the step",
    ),
}


@pytest.fixture
def damaged(results, tmp_path):
    made = []

    def copy(edit):
        made.append(edit)
        folder = tmp_path / f"r{len(made)}"
        shutil.copytree(results, folder)
        edit(folder)
        return folder

    return copy


@pytest.mark.parametrize("case", list(TAMPERED))
def test_damaged_results_are_one_line_naming_the_file(damaged, case):
    from click.testing import CliRunner

    from simulator.cli import cli

    edit, fragment = TAMPERED[case]
    folder = damaged(edit)
    done = CliRunner().invoke(cli, ["export-metrics", str(folder)])
    assert done.exit_code == 2, done.output
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: {folder}"), line
    assert fragment in line, line
    assert not (folder / "metrics.om").exists()
    if case.startswith(("nnc-", "summary-not")):
        node = "aks-user-09019107-vmss000001"
        done = CliRunner().invoke(cli, ["plot", "nnc", str(folder), "--node", node])
        assert done.exit_code == 2 and fragment in done.stderr


def test_a_byte_order_mark_in_results_files_is_read(damaged):
    def bom(folder):
        for name in ("nnc.csv", "nodes.csv", "subnets.csv"):
            path = folder / name
            path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    assert len(load_series(damaged(bom))) == len(load_series(damaged(lambda folder: None)))


def test_a_step_that_would_make_an_enormous_export_is_refused_unbuilt(results, tmp_path):
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(MetricsError) as info:
        write_metrics(results, tmp_path / "m.om", step=1e-6)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # 6e8 sample times, and the 4 nodes' 2.01e9 node-samples.
    assert str(info.value) == (
        "--step 1e-06 gives about 2,610,000,005 rows (sample times, and nodes × sample "
        f"times); at most {MAX_ROWS:,}: use --step 0.000522 or more"
    )
    assert peak < 300_000_000  # the export itself would hold some 40 GB
    assert not (tmp_path / "m.om").exists()
