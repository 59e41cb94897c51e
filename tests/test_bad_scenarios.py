"""Every broken scenario of the corpus is refused with one precise line.

``tests/bad_scenarios/`` holds the broken files and ``expected.yaml`` what each one's
error must contain, in order: the dotted path, the rule, the bad value. A few cases that
git cannot hold well (a directory, bytes that are not UTF-8) are made here. Each case
goes through :func:`simulator.load_scenario` (a :class:`ScenarioError`), through the
command line's entry point alone (exit status 2, exactly one line on stderr), through one
``python -m simulator validate`` process with every file, and a sample of them through a
``python -m simulator validate FILE`` process each.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from simulator import IpsimError, ScenarioError, load_scenario
from simulator.cli import cli

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "bad_scenarios"
EXPECTED: dict[str, list[str]] = yaml.safe_load((CORPUS / "expected.yaml").read_text("utf-8"))


def _directory(path: Path) -> None:
    path.mkdir()


def _bytes(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


#: A scenario whose job's lifetimes come from the CSV file next to it, named as it is.
EMPIRICAL = (CORPUS / "empirical-not-numbers.yaml").read_text("utf-8")


def _lifetimes(make: Callable[[Path], None]) -> Callable[[Path], None]:
    """A scenario at ``path`` reading lifetimes from ``path`` with .csv, made by ``make``."""

    def made(path: Path) -> None:
        csv = path.with_suffix(".csv")
        path.write_text(EMPIRICAL.replace("lifetimes.csv", csv.name), encoding="utf-8")
        make(csv)

    return made


#: Cases made by the test: name -> (how to make it, fragments of its error).
MADE: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "empirical-directory.yaml": (
        _lifetimes(_directory),
        [
            "workloads[etl].lifetime.file: ",
            "empirical-directory.csv is a directory, not a lifetime file",
        ],
    ),
    "empirical-fifo.yaml": (
        _lifetimes(os.mkfifo),
        [
            "workloads[etl].lifetime.file: ",
            "empirical-fifo.csv is a named pipe (FIFO), not a lifetime file",
        ],
    ),
    "empirical-too-large.yaml": (
        _lifetimes(_bytes(b"seconds,note\n" + b"30,x\n" * 5_000_000)),
        [
            "workloads[etl].lifetime.file: ",
            "empirical-too-large.csv is 25000013 bytes; ",
            "lifetime files are limited to 20000000 bytes",
        ],
    ),
    "a-directory.yaml": (_directory, ["is a directory, not a scenario file"]),
    "latin-1.yaml": (_bytes(b"name: caf\xe9\n"), ["is not UTF-8 text (bad byte at offset 9)"]),
    "utf-16.yaml": (_bytes("name: bad\n".encode("utf-16")), ["is not UTF-8 text", "offset 0"]),
    "binary.yaml": (_bytes(bytes(range(256)) * 4), ["is not UTF-8 text (bad byte at offset 128)"]),
    "nul-bytes.yaml": (_bytes(b"name: bad\x00\n"), ["invalid YAML: ", "special characters"]),
    "missing.yaml": (lambda path: None, ["no such file"]),
}
CASES = sorted(EXPECTED) + sorted(MADE)
#: Cases that also get a ``python -m simulator validate FILE`` process of their own.
SAMPLE = [
    "malformed-yaml.yaml", "tab-indentation.yaml", "alias-bomb.yaml", "deep-nesting.yaml",
    "huge-integer.yaml", "python-object-tag.yaml", "empty.yaml", "key-with-a-line-break.yaml",
    "a-directory.yaml", "latin-1.yaml", "unknown-key-typo.yaml",
    "empirical-outside-the-folder.yaml",
]  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    made = tmp_path_factory.mktemp("made")
    out = {name: CORPUS / name for name in EXPECTED}
    for name, (make, _) in MADE.items():
        make(made / name)
        out[name] = made / name
    return out


def _fragments(case: str) -> list[str]:
    return EXPECTED[case] if case in EXPECTED else MADE[case][1]


def _assert_says(line: str, file: Path, case: str) -> None:
    """``line`` names ``file`` first, then holds each expected fragment, in order."""
    head = f"{file}: "
    assert line.startswith(head), line
    at = len(head)
    for fragment in _fragments(case):
        found = line.find(fragment, at)
        assert found >= 0, f"{fragment!r} not in {line[at:]!r}"
        at = found + len(fragment)


def _refusal(file: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    return info.value


def test_the_corpus_and_its_expectations_match():
    on_disk = {p.name for p in CORPUS.iterdir()} - {"expected.yaml", "lifetimes.csv"}
    assert on_disk == set(EXPECTED)
    assert all(EXPECTED[name] for name in EXPECTED)
    assert not set(MADE) & on_disk
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES)
def test_load_scenario_refuses_it(files, case):
    err = _refusal(files[case])
    assert isinstance(err, IpsimError)
    assert err.source == str(files[case])
    message = str(err)
    assert "\n" not in message and len(message) < 400
    _assert_says(message, files[case], case)


@pytest.mark.parametrize("case", CASES)
def test_the_command_line_prints_one_line_and_exits_2(files, case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(cli, ["validate", str(files[case])], prog_name="ipsim")
    assert done.exit_code == 2, done.output
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines == [f"error: {_refusal(files[case])}"]
    _assert_says(lines[0].removeprefix("error: "), files[case], case)


def test_one_validate_process_reports_every_file_in_one_line(files, tmp_path):
    """``python -m simulator validate`` with the whole corpus: a line per file, in order."""
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "validate", *(str(files[c]) for c in CASES)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == len(CASES)
    for case, line in zip(CASES, lines, strict=True):
        assert line.startswith("error: "), line
        _assert_says(line.removeprefix("error: "), files[case], case)
    assert not (tmp_path / "bad_scenarios_pwned").exists()  # the !!python tag ran nothing


@pytest.fixture(scope="module")
def sample_runs(files, tmp_path_factory) -> dict[str, subprocess.CompletedProcess[str]]:
    cwd = tmp_path_factory.mktemp("cwd")

    def run(case: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "simulator", "validate", str(files[case])],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(SAMPLE, pool.map(run, SAMPLE), strict=True))


@pytest.mark.parametrize("case", SAMPLE)
def test_a_validate_process_of_its_own(files, sample_runs, case):
    done = sample_runs[case]
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    _assert_says(lines[0].removeprefix("error: "), files[case], case)


@pytest.mark.parametrize("case", ["alias-bomb.yaml", "alias-bomb-in-a-list.yaml"])
def test_an_alias_bomb_is_refused_quickly_and_cheaply(case):
    tracemalloc.start()
    began = time.perf_counter()
    _refusal(CORPUS / case)
    elapsed = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 2.0
    assert peak < 50_000_000


def test_a_huge_file_and_an_endless_one_are_refused_unread(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * 6_000_000 + b"\n")
    assert "scenario files are limited to 5000000 bytes" in str(_refusal(big))
    # A regular file whose size the system does not report, and that never ends.
    endless = Path("/proc/self/pagemap")
    if endless.exists():
        tracemalloc.start()
        assert "larger than allowed" in str(_refusal(endless))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 20_000_000


def test_a_fifo_and_a_device_are_refused_without_waiting(tmp_path):
    """Opening a FIFO that has no writer waits forever, reading /dev/zero never ends: both
    are refused before anything is read, in a process that must end within the timeout."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "validate", str(fifo), "/dev/zero"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: {fifo}: is a named pipe (FIFO), not a scenario file",
        "error: /dev/zero: is a character device, not a scenario file",
    ]
