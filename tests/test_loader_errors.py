"""File-level and type errors: one clear line naming the file, through the API and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulator import ScenarioError, load_scenario

from conftest import make_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))
POOL = "clusters[aks1].node_pools[user]"


def _ipsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args], capture_output=True, text=True, check=False
    )


def _reject(source: Any) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source)
    return info.value


def _write_doc(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


# --- the cases ---------------------------------------------------------------------------


Writer = Callable[[Path], Path]


def _text(content: str) -> Writer:
    def write(path: Path) -> Path:
        path.write_text(content, encoding="utf-8")
        return path

    return write


def _bytes(content: bytes) -> Writer:
    def write(path: Path) -> Path:
        path.write_bytes(content)
        return path

    return write


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _missing(path: Path) -> Path:
    return path


def _doc(mutate: Callable[[dict[str, Any]], None]) -> Writer:
    def write(path: Path) -> Path:
        doc = make_scenario()
        mutate(doc)
        return _write_doc(path, doc)

    return write


def _top(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        doc[key] = value

    return mutate


def _in_pool(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        doc["clusters"][0]["node_pools"][0][key] = value

    return mutate


def _in_cluster(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        doc["clusters"][0][key] = value

    return mutate


def _in_workload(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        doc["workloads"][0][key] = value

    return mutate


@dataclass(frozen=True)
class Case:
    id: str
    write: Writer
    fragments: tuple[str, ...]
    path: str = ""


CASES = [
    Case(
        "malformed-yaml",
        _text("name: test\nduration: 10m\n  seed: 3\n"),
        ("invalid YAML", "line 3, column 7", "mapping values are not allowed"),
    ),
    Case(
        "unclosed-bracket",
        _text("name: test\nclusters: [a, b\nworkloads: []\n"),
        ("invalid YAML", "line 3, column 10"),
    ),
    Case(
        "tab-indentation",
        _text("name: test\nnetwork:\n\tvnets: []\n"),
        ("invalid YAML", "line 3, column 1", "'\\t'"),
    ),
    Case("empty-file", _text(""), ("is empty", "mapping")),
    Case("only-comments", _text("# nothing here\n"), ("is empty", "mapping")),
    Case("top-level-list", _text("- name: test\n- name: other\n"), ("mapping", "not a list")),
    Case("directory", _directory, ("is a directory",)),
    Case("missing-file", _missing, ("no such file",)),
    Case("not-utf8", _bytes(b"name: caf\xe9\n"), ("not UTF-8", "offset 9")),
    Case(
        "unknown-key-in-pool",
        _doc(_in_pool("max_pod", 30)),
        ("unknown key", "did you mean 'max_pods'?"),
        f"{POOL}.max_pod",
    ),
    Case(
        "unknown-top-level-key",
        _doc(_top("duraton", "10m")),
        ("unknown key", "did you mean 'duration'?"),
        "duraton",
    ),
    Case(
        "replicas-text",
        _doc(_in_workload("replicas", "many")),
        ("valid integer", "(got 'many')"),
        "workloads[web].replicas",
    ),
    Case(
        "count-negative",
        _doc(_in_pool("count", -1)),
        ("between 0 and 1000", "(got -1)"),
        f"{POOL}.count",
    ),
    Case(
        "cni-cilium",
        _doc(_in_cluster("cni", "cilium")),
        ("'dynamic'", "'traditional'", "(got 'cilium')"),
        "clusters[aks1].cni",
    ),
    Case(
        "duration-negative",
        _doc(_top("duration", "-5s")),
        ("duration", "(got '-5s')"),
        "duration",
    ),
    Case(
        "duration-negative-number",
        _doc(_top("duration", -5)),
        ("non-negative", "(got -5)"),
        "duration",
    ),
    Case("duration-zero", _doc(_top("duration", 0)), ("greater than 0",), "duration"),
    Case(
        "duration-bad-unit",
        _doc(_top("duration", "10x")),
        ("30s, 10m, 2h, 1d", "(got '10x')"),
        "duration",
    ),
    Case(
        "duration-boolean",
        _doc(_top("duration", True)),
        ("30s, 10m, 2h, 1d", "(got True)"),
        "duration",
    ),
    Case(
        "max-pods-above-range",
        _doc(_in_pool("max_pods", 300)),
        ("between 10 and 250", "(got 300)"),
        f"{POOL}.max_pods",
    ),
]
CASE_IDS = [case.id for case in CASES]


@pytest.fixture(scope="module")
def case_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cases")
    return {case.id: case.write(folder / f"{case.id}.yaml") for case in CASES}


@pytest.fixture(scope="module")
def cli_all(case_files) -> subprocess.CompletedProcess[str]:
    """``ipsim validate`` on every case file at once (one interpreter start keeps this fast)."""
    return _ipsim("validate", *map(str, case_files.values()))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_load_scenario_names_the_file_and_the_problem(case_files, case):
    file = case_files[case.id]
    err = _reject(file)
    assert str(err).startswith(f"{file}: ")
    assert err.source == str(file)
    assert err.path == case.path
    if case.path:
        assert str(err).startswith(f"{file}: {case.path}: ")
    for fragment in case.fragments:
        assert fragment in str(err)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cli_prints_one_error_line_per_bad_file(case_files, cli_all, case):
    file = case_files[case.id]
    lines = [line for line in cli_all.stderr.splitlines() if line.startswith(f"error: {file}: ")]
    assert lines == [f"error: {_reject(file)}"]


def test_cli_with_every_bad_file_exits_2_with_nothing_but_error_lines(cli_all):
    assert cli_all.returncode == 2
    assert cli_all.stdout == ""
    assert "Traceback" not in cli_all.stderr
    assert len(cli_all.stderr.splitlines()) == len(CASES)


@pytest.mark.parametrize("case_id", ["malformed-yaml", "directory", "not-utf8", "cni-cilium"])
def test_cli_on_one_bad_file(case_files, case_id):
    file = case_files[case_id]
    run = _ipsim("validate", str(file))
    assert run.returncode == 2
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [f"error: {_reject(file)}"]


def test_load_scenario_accepts_str_and_path(tmp_path):
    file = _write_doc(tmp_path / "ok.yaml", make_scenario())
    assert load_scenario(file) == load_scenario(str(file)) == load_scenario(make_scenario())


def test_document_errors_carry_no_file_name():
    doc = make_scenario()
    doc["duraton"] = "10m"
    assert str(_reject(doc)) == "duraton: unknown key; did you mean 'duration'?"


def test_unknown_key_far_from_any_field_lists_the_allowed_keys(tmp_path):
    doc = make_scenario()
    doc["clusters"][0]["node_pools"][0]["zzz"] = 1
    err = _reject(_write_doc(tmp_path / "s.yaml", doc))
    assert err.path == f"{POOL}.zzz"
    assert "allowed: name, count, max_pods, node_subnet" in err.message


# --- keys misspelt or repeated, booleans for numbers --------------------------------------


def test_misspelt_required_key_is_reported_as_unknown(tmp_path):
    doc = make_scenario()
    pool = doc["clusters"][0]["node_pools"][0]
    pool["node_subnt"] = pool.pop("node_subnet")
    err = _reject(_write_doc(tmp_path / "s.yaml", doc))
    assert err.path == f"{POOL}.node_subnt"
    assert "did you mean 'node_subnet'?" in err.message


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (_in_workload("replicas", True), "workloads[web].replicas"),
        (_in_pool("count", True), f"{POOL}.count"),
        (_top("seed", False), "seed"),
    ],
    ids=["replicas", "count", "seed"],
)
def test_boolean_is_not_an_integer(tmp_path, mutate, path):
    err = _reject(_doc(mutate)(tmp_path / "s.yaml"))
    assert err.path == path


def test_duplicate_yaml_key_is_refused(tmp_path):
    file = _write_doc(tmp_path / "s.yaml", make_scenario())
    file.write_text(file.read_text(encoding="utf-8") + "duration: 1h\n", encoding="utf-8")
    err = _reject(file)
    assert "duplicate" in str(err)
    assert "duration" in str(err)


# --- valid files, several files, schema, shipped scenarios --------------------------------


def test_valid_file_prints_ok(tmp_path):
    file = _write_doc(tmp_path / "good.yaml", make_scenario())
    run = _ipsim("validate", str(file))
    assert (run.returncode, run.stdout, run.stderr) == (0, f"{file}: ok (test)\n", "")


def test_one_bad_file_among_two_fails_but_the_good_one_is_reported(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: test\nnetwork:\n\tvnets: []\n", encoding="utf-8")
    good = _write_doc(tmp_path / "good.yaml", make_scenario())
    run = _ipsim("validate", str(bad), str(good))
    assert run.returncode == 2
    assert run.stdout == f"{good}: ok (test)\n"
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [f"error: {_reject(bad)}"]


def test_schema_is_json_describing_the_top_level_keys():
    run = _ipsim("schema")
    assert run.returncode == 0
    schema = json.loads(run.stdout)
    assert {"name", "network", "clusters", "workloads", "timeline"} <= set(schema["properties"])


def test_scenarios_folder_is_not_empty():
    assert SCENARIOS


@pytest.mark.parametrize("file", SCENARIOS, ids=[f.name for f in SCENARIOS])
def test_shipped_scenario_loads(file):
    scenario = load_scenario(file)
    assert scenario.name


def test_shipped_scenarios_validate_on_the_command_line():
    run = _ipsim("validate", *map(str, SCENARIOS))
    assert (run.returncode, run.stderr) == (0, "")
    names = [load_scenario(f).name for f in SCENARIOS]
    assert run.stdout.splitlines() == [
        f"{f}: ok ({name})" for f, name in zip(SCENARIOS, names, strict=True)
    ]


def test_python_object_tags_are_refused(tmp_path):
    file = tmp_path / "evil.yaml"
    file.write_text("name: !!python/object/apply:os.system ['echo owned']\n", encoding="utf-8")
    err = _reject(file)
    assert str(err).startswith(f"{file}: invalid YAML")


# --- numbers as a user means them (YAML 1.1 spellings) ----------------------------------

#: Plain scalars and what ipsim reads them as: numbers the way Python and YAML 1.2 read
#: them, and the spellings YAML 1.1 would turn into other numbers kept as text.
READ_AS = [
    ("10", 10), ("+10", 10), ("-0", 0), ("1_000", 1000), ("0x1F", 31), ("0o17", 15),
    ("0b101", 5), ("1.5", 1.5), (".5", 0.5), ("1.", 1.0), ("1e3", 1000.0),
    ("1.5E+3", 1500.0), ("010.5", 10.5), ("true", True), ("False", False), ("~", None),
    ("null", None), ("010", "010"), ("08", "08"), ("1:30", "1:30"), ("17:30:00", "17:30:00"),
    ("yes", "yes"), ("No", "No"), ("on", "on"), ("OFF", "OFF"), ("y", "y"),
    ("2025-01-01", "2025-01-01"), ("=", "="), ("<<", "<<"), ("1_", "1_"), ("0x", "0x"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "value"), READ_AS, ids=[t for t, _ in READ_AS])
def test_plain_scalars_are_read_as_yaml_1_2_reads_them(text, value):
    from simulator.scenario.loader import read_value

    got = read_value(text)
    assert got == value and type(got) is type(value)


def test_special_floats_stay_floats_and_are_refused_as_not_finite():
    import math

    from simulator.scenario.loader import read_value

    assert math.isnan(read_value(".nan")) and read_value("-.inf") == -math.inf
    doc = make_scenario()
    doc["network"]["exhaustion"] = {"upper_percent": read_value(".inf")}
    assert (
        str(_reject(doc)) == "network.exhaustion.upper_percent: must be a finite number (got inf)"
    )


def test_a_set_value_is_read_as_a_scenario_file_reads_it(tmp_path):
    from simulator.scenario.variants import apply_settings, parse_settings

    ((_, values),) = parse_settings(["clusters[aks1].node_pools[user].count=010,0x2,1_0,yes"])
    assert values == ["010", 2, 10, "yes"]
    doc = apply_settings(make_scenario(), {f"{POOL}.count": values[0]})
    err = _reject(doc)
    assert err.path == f"{POOL}.count"
    assert "010 is not a number here (YAML 1.1 reads a leading 0 as octal)" in err.message


def test_text_fields_take_yaml_1_1_spellings_as_written(tmp_path):
    doc = yaml.safe_dump(make_scenario(), sort_keys=False)
    doc = doc.replace("name: test", "name: test\ndescription: no", 1)
    doc = doc.replace("name: user", "name: on", 1).replace("node_pool: user", "node_pool: on")
    scenario = load_scenario(_text(doc)(tmp_path / "s.yaml"))
    assert scenario.description == "no"
    assert scenario.clusters[0].node_pools[0].name == "on"


def test_merge_keys_are_supported_and_own_keys_win(tmp_path):
    doc = make_scenario()
    text = yaml.safe_dump(doc, sort_keys=False)
    pool = (
        "  - name: user\n    count: 1\n    node_subnet: nodesubnet\n    system_pods_per_node: 0\n"
    )
    assert pool in text
    text = text.replace(
        pool,
        "  - &pool\n" + pool.replace("  - name", "    name", 1)
        + "  - <<: *pool\n    name: batch\n    count: 3\n",
    )  # fmt: skip
    scenario = load_scenario(_text(text)(tmp_path / "s.yaml"))
    batch = scenario.clusters[0].node_pools[1]
    assert (batch.name, batch.count, batch.node_subnet) == ("batch", 3, "nodesubnet")
    # A key given twice in the mapping itself is still refused.
    twice = text.replace("    count: 3\n", "    count: 3\n    count: 4\n")
    assert "duplicate key 'count'" in str(_reject(_text(twice)(tmp_path / "t.yaml")))
