"""Outputs never delete or overwrite what ipsim did not write, and never end in a traceback.

* Every results folder carries ``.ipsim-results.json``; ``--force`` replaces only such a
  folder holding nothing but the files it lists, never the current folder, a folder
  holding it or the scenario, a symbolic link or a folder of the user's.
* An output file is replaced only when ipsim wrote it; a results folder's own files are
  never written over by ``export-metrics`` or ``plot nnc``.
* The system's refusals (disk full, read-only, a name too long, a parent that is a
  file, a dangling link) are one line and exit status 2, leaving nothing behind.
* SIGTERM removes the staging folder, and staging folders of killed runs are removed
  by the next run into the same folder; only folders carrying ipsim's staging mark.
* A chart's default name, built from a node name read from nnc.csv, stays in its folder.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import simulator
from simulator.cli import cli
from simulator.errors import OutputError, OutputExistsError
from simulator.results.folders import (
    RESULTS_MARK,
    STAGING_MARK,
    remove_stale,
    write_file,
    write_folder,
)
from simulator.results.node_chart import default_output

from conftest import make_scenario

ROOT = Path(__file__).resolve().parents[1]


def ipsim(*args, cwd: Path = ROOT, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "simulator", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def invoke(*args) -> tuple[int, list[str]]:
    """The command line in this process: exit status and stderr lines."""
    done = CliRunner().invoke(cli, [str(a) for a in args], prog_name="ipsim")
    return done.exit_code, done.stderr.splitlines()


@pytest.fixture(scope="module")
def result():
    return simulator.run(make_scenario(nodes=1, replicas=3, duration="2m"))


@pytest.fixture
def scenario(tmp_path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(make_scenario(nodes=1, replicas=3, duration="2m")))
    return path


def _small(folder: Path) -> None:
    """The files of a small results folder (no charts: quick to write)."""
    (folder / "summary.json").write_text("{}\n")
    (folder / "events.csv").write_text("time_s\n")


def _save(target: Path, *, force: bool = False) -> Path:
    return write_folder(target, _small, force=force)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# --- the mark -----------------------------------------------------------------------------


def test_every_results_folder_lists_what_ipsim_wrote_in_it(result, tmp_path):
    out = result.save(tmp_path / "r")
    mark = json.loads((out / RESULTS_MARK).read_text())
    assert mark["written_by"] == "ipsim"
    assert set(mark["files"]) == {p.name for p in out.iterdir()} - {RESULTS_MARK}
    assert mark["added"] == []


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("run", ["--replicas", "2", "-j", "1"]),
        ("compare", ["--set", "clusters[aks1].ipam.batch_size=8,16"]),
        ("sweep", ["--set", "clusters[aks1].ipam.batch_size=8,16"]),
        ("plan", ["--subnet", "podsubnet"]),
    ],
)
def test_every_command_marks_its_folder_and_force_replaces_only_that(
    scenario, tmp_path, command, args
):
    out = tmp_path / "out"
    code, err = invoke(command, scenario, "-o", out, *args)
    assert code == 0, err
    mark = json.loads((out / RESULTS_MARK).read_text())
    listed = {name.rstrip("/") for name in mark["files"]}
    assert listed == {str(p.relative_to(out)) for p in out.rglob("*")} - {RESULTS_MARK}
    assert invoke(command, scenario, "-o", out, *args, "--force")[0] == 0
    (out / "mine.txt").write_text("mine")
    code, err = invoke(command, scenario, "-o", out, *args, "--force")
    assert code == 2
    assert err == [
        f"error: {out}: holds mine.txt, which ipsim did not write; ipsim will not replace "
        "it, even with --force: move it out or choose another folder"
    ]
    assert (out / "mine.txt").read_text() == "mine"


def test_chart_capacity_marks_its_folder_too(tmp_path):
    out = tmp_path / "cap"
    args = ["chart", "capacity", "--max-pods", "30", "--pods-per-node", "20", "-o", out]
    assert invoke(*args)[0] == 0
    assert (out / RESULTS_MARK).is_file()
    assert invoke(*args, "--force")[0] == 0
    (out / "sub").mkdir()
    (out / "sub" / "notes.md").write_text("mine")
    assert invoke(*args, "--force")[0] == 2
    assert (out / "sub" / "notes.md").read_text() == "mine"


# --- what --force refuses -----------------------------------------------------------------


def test_force_refuses_the_current_folder_and_its_parents(scenario, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(scenario, work / "s.yaml")
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    for target, why in [(".", "is the current folder"), ("..", "holds the current folder")]:
        code, err = invoke("run", "s.yaml", "-o", target, "--force")
        assert code == 2
        assert err == [
            f"error: {target}: {why}; ipsim will not replace it, even with --force: "
            "choose another folder"
        ]
    assert _tree(tmp_path) == before


def test_force_refuses_a_folder_holding_the_scenario(tmp_path, result):
    # Even an ipsim results folder: the scenario read from it would be deleted.
    out = result.save(tmp_path / "r")
    scenario = out / "scenario.resolved.yaml"
    code, err = invoke("run", scenario, "-o", out, "--force")
    assert code == 2
    assert err == [
        f"error: {out}: holds the scenario file {scenario}; ipsim will not replace it, even "
        "with --force: choose another folder"
    ]
    assert scenario.is_file()


def test_force_refuses_a_folder_ipsim_did_not_write(scenario, tmp_path):
    mine = tmp_path / "mythesis"
    mine.mkdir()
    (mine / "thesis.tex").write_text("chapter 1")
    code, err = invoke("run", scenario, "-o", mine, "--force")
    assert code == 2
    assert err == [
        f"error: {mine}: exists and is not a results folder written by ipsim; ipsim will not "
        "replace it, even with --force: choose another folder"
    ]
    assert (mine / "thesis.tex").read_text() == "chapter 1"


def test_a_forged_or_broken_mark_is_not_ipsims(tmp_path):
    for content in ["{}", "not json", '{"written_by": "ipsim", "files": "x", "added": []}']:
        folder = tmp_path / f"f{len(content)}"
        folder.mkdir()
        (folder / RESULTS_MARK).write_text(content)
        (folder / "data.csv").write_text("mine")
        with pytest.raises(OutputError, match="not a results folder written by ipsim"):
            _save(folder, force=True)
        assert (folder / "data.csv").read_text() == "mine"


def test_an_empty_folder_may_be_filled_with_force(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(OutputExistsError, match="use --force"):
        _save(empty)
    _save(empty, force=True)
    assert (empty / "summary.json").is_file()


def test_force_refuses_a_symbolic_link_and_what_it_points_to(tmp_path):
    real = _save(tmp_path / "real")
    link = tmp_path / "link"
    link.symlink_to(real)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    for target in (link, dangling):
        with pytest.raises(OutputError, match="is a symbolic link"):
            _save(target, force=True)
    assert (real / "summary.json").is_file() and link.is_symlink()
    assert not (tmp_path / "nowhere").exists()
    # A link inside a results folder is not a file ipsim wrote.
    (real / "events.csv").unlink()
    (real / "events.csv").symlink_to(tmp_path / "s.yaml")
    with pytest.raises(OutputError, match=r"holds events\.csv, which ipsim did not write"):
        _save(real, force=True)


def test_a_file_added_after_the_check_is_kept(tmp_path, monkeypatch):
    """The old folder is checked again once set aside, just before it is deleted."""
    out = _save(tmp_path / "r")
    original = Path.rename

    def rename(self, target):
        moved = original(self, target)
        if self == out and ".old." in Path(target).name:
            (Path(target) / "late.txt").write_text("mine")
        return moved

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OutputError, match=r"holds late\.txt"):
        _save(out, force=True)
    assert (out / "late.txt").read_text() == "mine"
    assert (out / "summary.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


# --- output files -------------------------------------------------------------------------


def test_output_files_replace_only_ipsims_own(result, tmp_path):
    out = result.save(tmp_path / "r")
    node = str(result.nnc["node"].iloc[0])
    assert invoke("export-metrics", out)[0] == 0
    assert invoke("plot", "nnc", out, "--node", node)[0] == 0
    added = json.loads((out / RESULTS_MARK).read_text())["added"]
    assert added == sorted(["metrics.om", default_output(out, node).name])
    assert invoke("export-metrics", out, "--force")[0] == 0
    assert invoke("plot", "nnc", out, "--node", node, "--force")[0] == 0
    # Files it added do not stop a forced rerun into the folder.
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(result.scenario.to_document()))
    assert invoke("run", scenario, "-o", out, "--force")[0] == 0
    assert invoke("export-metrics", out)[0] == 0
    mine = tmp_path / "mine.om"
    mine.write_text("my own notes\n")
    chart = tmp_path / "mine.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n my drawing")
    for args, target in [
        (["export-metrics", out, "-o", mine, "--force"], mine),
        (["plot", "nnc", out, "--node", node, "-o", chart, "--force"], chart),
    ]:
        code, err = invoke(*args)
        assert code == 2
        assert err == [
            f"error: {target}: exists and was not written by ipsim; ipsim will not replace "
            "it, even with --force: choose another file"
        ]
    assert mine.read_text() == "my own notes\n"
    code, err = invoke("export-metrics", out, "-o", out / "nnc.csv", "--format", "csv", "--force")
    assert code == 2
    assert "is one of the results files of" in err[0]
    # Outside a results folder, ipsim's own exports are recognised by their first bytes.
    elsewhere = tmp_path / "export.om"
    assert invoke("export-metrics", out, "-o", elsewhere)[0] == 0
    assert invoke("export-metrics", out, "-o", elsewhere, "--force")[0] == 0
    png = tmp_path / "chart.png"
    assert invoke("plot", "nnc", out, "--node", node, "-o", png)[0] == 0
    assert invoke("plot", "nnc", out, "--node", node, "-o", png, "--force")[0] == 0


def test_a_chart_name_built_from_a_node_name_stays_in_the_folder(result, tmp_path):
    out = result.save(tmp_path / "deep" / "r")
    node = str(result.nnc["node"].iloc[0])
    evil = "a/../../../outside"
    for name in ("nnc.csv", "nodes.csv"):
        path = out / name
        path.write_text(path.read_text().replace(node, evil))
    code, err = invoke("plot", "nnc", out, "--node", evil)
    assert code == 0, err
    assert default_output(out, evil).parent == out
    assert default_output(out, evil).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep"]
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["r"]
    for name in ["../x", "/etc/passwd", "..", ".", "", "a\\b", "x\x00y", "C:\\x", "~"]:
        chart = default_output(out, name)
        assert chart.parent == out and chart.name.startswith("nnc-"), name


# --- the system says no -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message"),
    [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system")],
)
def test_a_full_disk_or_a_read_only_file_system_is_one_line(
    scenario, tmp_path, monkeypatch, code, message
):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(pd.DataFrame, "to_csv", refuse)
    out = tmp_path / "out"
    status, err = invoke("run", scenario, "-o", out)
    assert status == 2
    assert err == [f"error: {out}: cannot be written: {message}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]  # no staging left
    monkeypatch.undo()

    def refuse_file(staging):
        raise OSError(code, os.strerror(code))

    with pytest.raises(OutputError, match=f"cannot be written: {message}"):
        write_file(tmp_path / "m.om", refuse_file)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_a_read_only_folder_is_one_line(scenario, tmp_path, monkeypatch):
    # As root, permissions do not stop writing: the system call itself is made to fail.
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(tmp_path))

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    status, err = invoke("run", scenario, "-o", tmp_path / "out")
    assert (status, err) == (
        2,
        [f"error: {tmp_path / 'out'}: cannot be written: Read-only file system"],
    )


def test_paths_that_cannot_be_results_folders(scenario, tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    long = "x" * 300
    cases = [
        (
            tmp_path / "afile" / "sub",
            f"cannot be created: {tmp_path / 'afile'} is a file, not a folder",
        ),
        (tmp_path / long, "cannot be written: File name too long"),
        (tmp_path / "dangling", "is a symbolic link; ipsim writes only to a real folder"),
        (tmp_path / "afile", "exists and is not a folder"),
    ]
    for target, message in cases:
        status, err = invoke("run", scenario, "-o", target)
        assert status == 2, target
        assert len(err) == 1 and err[0].startswith(f"error: {target}: {message}"), err
    assert not (tmp_path / "nowhere").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "dangling", "s.yaml"]


def test_file_outputs_that_cannot_be_written(result, tmp_path):
    out = result.save(tmp_path / "r")
    node = str(result.nnc["node"].iloc[0])
    (tmp_path / "afile").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for target, message in [
        (tmp_path / "afile" / "m.om", "is a file, not a folder"),
        (tmp_path / ("m" * 300 + ".om"), "File name too long"),
        (tmp_path / "dangling", "is a symbolic link"),
        (tmp_path, "is a folder, not a file"),
    ]:
        for args in (
            ["export-metrics", out, "-o", target],
            ["plot", "nnc", out, "--node", node, "-o", target],
        ):
            status, err = invoke(*args)
            assert status == 2 and len(err) == 1, (args, err)
            assert message in err[0], err
    assert not (tmp_path / "nowhere").exists()


# --- signals and staging folders -----------------------------------------------------------


def _slow_save_scenario(folder: Path) -> Path:
    """Simulated in half a second, saved in a few: 86,400 samples per subnet."""
    doc = make_scenario(nodes=2, replicas=20, duration="2d")
    doc["sample_every"] = "2s"
    path = folder / "slow.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_sigterm_while_saving_leaves_neither_folder_nor_staging(tmp_path):
    scenario = _slow_save_scenario(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "run", str(scenario), "-o", str(out / "result")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".result.") for p in out.iterdir()):
        assert proc.poll() is None, "the run ended before it was saving"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert stderr.splitlines() == ["terminated: no results were written"]
    assert list(out.iterdir()) == []


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _stage(parent: Path, name: str, **mark) -> Path:
    folder = parent / name
    folder.mkdir()
    (folder / "subnets.csv").write_text("time_s\n0\n")
    mark = {"written_by": "ipsim", "kind": "staging", "target": "r", "host": socket.gethostname(),
            "pid": _dead_pid(), "started": None, **mark}  # fmt: skip
    (folder / STAGING_MARK).write_text(json.dumps(mark))
    return folder


def test_staging_folders_of_killed_runs_are_removed_by_the_next_run(tmp_path):
    parent = tmp_path / "results"
    parent.mkdir()
    _stage(parent, ".r.abcd1234")  # a killed run's
    alive = _stage(parent, ".r.live0001", pid=os.getpid())
    elsewhere = _stage(parent, ".r.host0001", host="another-host")
    unmarked = parent / ".r.mine0001"
    unmarked.mkdir()
    (unmarked / "notes.txt").write_text("mine")
    forged = _stage(parent, ".r.forged01")
    (forged / STAGING_MARK).write_text('{"written_by": "someone"}')
    linked = parent / ".r.link0001"
    linked.symlink_to(_stage(tmp_path, ".r.target01"))
    _save(parent / "r")
    names = {p.name for p in parent.iterdir()}
    assert names == {alive.name, elsewhere.name, unmarked.name, forged.name, linked.name, "r"}
    assert (unmarked / "notes.txt").read_text() == "mine"
    assert (tmp_path / ".r.target01" / "subnets.csv").is_file()


def test_a_replacement_cut_short_is_put_back(tmp_path):
    """Killed between setting the old folder aside and renaming the new one in: the next
    write into the parent renames the old results folder back."""
    old = _save(tmp_path / "keep")
    aside = tmp_path / ".keep.old.abcd1234"
    old.rename(aside)
    (aside / STAGING_MARK).write_text(
        json.dumps({"written_by": "ipsim", "kind": "old", "target": "keep",
                    "host": socket.gethostname(), "pid": _dead_pid(), "started": None})
    )  # fmt: skip
    assert remove_stale(tmp_path) == [aside.name]
    assert (tmp_path / "keep" / "summary.json").is_file()
    assert not (tmp_path / "keep" / STAGING_MARK).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]


def test_a_failed_fill_leaves_nothing_and_an_interrupted_one_neither(tmp_path):
    for error in (RuntimeError("boom"), KeyboardInterrupt()):

        def fill(folder: Path, error=error) -> None:
            (folder / "a.csv").write_text("x")
            raise error

        with pytest.raises(type(error)):
            write_folder(tmp_path / "r", fill)
        assert list(tmp_path.iterdir()) == []
