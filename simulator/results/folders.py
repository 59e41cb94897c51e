"""Results folders and output files: written atomically, never over what ipsim did not write.

A results folder is staged next to its target (``.NAME.XXXXXXXX``) and renamed into
place once complete. Every results folder holds :data:`RESULTS_MARK`, which says that
ipsim wrote it and lists the files it wrote there; files that ``export-metrics`` and
``plot nnc`` add to it later join the list. ``force`` replaces only a folder that carries
the mark and holds nothing else, and never the current folder, a folder holding it or
one of the command's inputs, nor a symbolic link. An existing file is replaced only when
ipsim wrote it: listed in its results folder's mark, or recognised by its first bytes.

While a staging folder is built it carries :data:`STAGING_MARK` (host, process, target),
so that one left by a killed process can be proved ipsim's: the next write into the same
parent removes it, and puts back a results folder whose replacement was cut short.
Failures of the system (disk full, read-only file system, a name too long) become one
:class:`OutputError` line naming the target.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from simulator.errors import OutputError, OutputExistsError

__all__ = [
    "RESULTS_MARK",
    "STAGING_MARK",
    "check_file_target",
    "check_target",
    "remove_stale",
    "write_file",
    "write_folder",
]

#: The file that marks a folder as ipsim's results and lists what ipsim wrote there.
RESULTS_MARK = ".ipsim-results.json"
#: The file that marks a staging folder while ipsim builds it.
STAGING_MARK = ".ipsim-staging.json"
#: Marks larger than this are not ipsim's (10,000 replicas list about 3 MB of names).
_MARK_LIMIT = 50_000_000
#: Characters of the target's name kept in a staging folder's name.
_STAGING_NAME = 64

#: What a path that already exists means to a later ``--force``: who may replace it.
Protect = Iterable[tuple[str, str | os.PathLike[str]]]
#: Whether a file's first bytes show that ipsim wrote it.
Signature = Callable[[bytes], bool]


def _refuse(target: Path, why: str, remedy: str = "choose another folder") -> OutputError:
    return OutputError(f"{target}: {why}; ipsim will not replace it, even with --force: {remedy}")


def _os_error(target: Path, exc: OSError) -> OutputError:
    """A system failure while writing ``target`` (disk full, read-only), in one line."""
    return OutputError(f"{target}: cannot be written: {exc.strerror or exc}")


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _check_place(target: Path, protect: Protect, *, kind: str) -> Path:
    """Refusals that hold with or without ``force``; returns the target's real path."""
    if target.is_symlink():
        raise OutputError(
            f"{target}: is a symbolic link; ipsim writes only to a real {kind}, not through "
            f"a link: choose another {kind}"
        )
    real = _real(target)
    cwd = _real(Path.cwd())
    if kind == "folder":
        if real == cwd:
            raise _refuse(target, "is the current folder")
        if real in cwd.parents:
            raise _refuse(target, "holds the current folder")
        for label, path in protect:
            inner = _real(Path(path))
            if inner == real or real in inner.parents:
                raise _refuse(target, f"holds {label} {path}")
    # The nearest existing ancestor must be a folder, or nothing can be created.
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{target}: cannot be created: {parent} is a file, not a folder")
            break
    return real


def _read_mark(folder: Path) -> dict[str, Any] | None:
    """The folder's results mark, or None when it has none that ipsim wrote."""
    mark = folder / RESULTS_MARK
    try:
        info = mark.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MARK_LIMIT:
            return None
        data = json.loads(mark.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("written_by") != "ipsim":
        return None
    for key in ("files", "added"):
        if not isinstance(data.get(key), list) or not all(isinstance(n, str) for n in data[key]):
            return None
    return data


def _entries(folder: Path) -> list[tuple[str, bool]]:
    """Every entry below ``folder`` as (relative name, is a symbolic link); folders end
    with ``/``. Links are listed, never followed; an unreadable subfolder is an error."""

    def fail(exc: OSError) -> None:
        raise exc

    out = []
    for root, dirs, files in os.walk(folder, onerror=fail):
        rel = Path(root).relative_to(folder)
        for name in dirs:
            path = Path(root, name)
            out.append((f"{(rel / name).as_posix()}/", path.is_symlink()))
        for name in files:
            out.append(((rel / name).as_posix(), Path(root, name).is_symlink()))
    return sorted(out)


def _foreign(folder: Path, mark: dict[str, Any]) -> str | None:
    """The first entry of ``folder`` that ipsim did not write, if any."""
    allowed = {RESULTS_MARK, STAGING_MARK, *mark["files"], *mark["added"]}
    for name, link in _entries(folder):
        if link or name not in allowed:
            return name.rstrip("/")
    return None


def _check_replaceable(target: Path, real: Path) -> None:
    """Refuse an existing folder unless ipsim wrote it and everything in it."""
    mark = _read_mark(real)
    if mark is None:
        if all(entry.name == STAGING_MARK for entry in real.iterdir()):
            return  # an empty folder: nothing in it to lose
        raise _refuse(target, "exists and is not a results folder written by ipsim")
    try:
        foreign = _foreign(real, mark)
    except OSError as exc:
        raise _refuse(target, f"cannot be inspected ({exc.strerror})") from None
    if foreign is not None:
        raise _refuse(
            target,
            f"holds {foreign}, which ipsim did not write",
            "move it out or choose another folder",
        )


def check_target(target: Path, *, force: bool, protect: Protect = ()) -> None:
    """Refuse a results folder that may not be written: one that exists (unless
    ``force`` and ipsim wrote it and all it holds), is not a folder, is a symbolic link,
    is or holds the current folder, or holds a path of ``protect`` ((label, path))."""
    try:
        real = _check_place(target, protect, kind="folder")
        if not real.exists():
            return
        if not real.is_dir():
            raise OutputExistsError(f"{target}: exists and is not a folder")
        _check_replaceable(target, real)
    except OSError as exc:
        raise _os_error(target, exc) from None
    if not force:
        raise OutputExistsError(f"{target}: exists already; use --force to replace it")


# --- staging marks -------------------------------------------------------------------


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), where the system says."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, or no way to ask: assume it lives
        return True
    # The same number may belong to a newer process since.
    now = _start_time(pid)
    return started is None or now is None or now == started


def _write_staging_mark(folder: Path, target: str, kind: str) -> None:
    mark = {
        "written_by": "ipsim",
        "kind": kind,  # "staging" (a folder being built) or "old" (one being replaced)
        "target": target,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": _start_time(os.getpid()),
    }
    (folder / STAGING_MARK).write_text(json.dumps(mark) + "\n", encoding="utf-8")


def _read_staging_mark(folder: Path) -> dict[str, Any] | None:
    path = folder / STAGING_MARK
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > 4096:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (
        isinstance(data, dict)
        and data.get("written_by") == "ipsim"
        and data.get("kind") in ("staging", "old")
        and isinstance(data.get("target"), str)
        and isinstance(data.get("pid"), int)
        and data["pid"] > 0
        and (data.get("started") is None or isinstance(data["started"], str))
    ):
        return None
    return data


def remove_stale(parent: Path) -> list[str]:
    """Remove the staging folders in ``parent`` that killed ipsim processes of this host
    left behind, putting back a results folder whose replacement was cut short; returns
    the names removed or restored. Only folders carrying a staging mark are touched."""
    done: list[str] = []
    try:
        entries = [e for e in os.scandir(parent) if e.name.startswith(".")]
    except OSError:
        return done
    host = socket.gethostname()
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            folder = Path(entry.path)
            mark = _read_staging_mark(folder)
            if mark is None or mark["host"] != host or entry.name == mark["target"]:
                continue
            if _alive(mark["pid"], mark["started"]):
                continue
            original = parent / mark["target"]
            if mark["kind"] == "old" and not os.path.lexists(original):
                folder.rename(original)
                (original / STAGING_MARK).unlink(missing_ok=True)
            else:
                shutil.rmtree(folder)
            done.append(entry.name)
        except OSError:
            continue  # best effort: a folder that cannot be cleaned stays
    return done


# --- folders -------------------------------------------------------------------------


def _mark_folder(staging: Path) -> None:
    files = [name for name, _ in _entries(staging) if name != STAGING_MARK]
    mark = {"written_by": "ipsim", "format": 1, "files": files, "added": []}
    (staging / RESULTS_MARK).write_text(json.dumps(mark, indent=1) + "\n", encoding="utf-8")


def write_folder(
    directory: str | os.PathLike[str],
    fill: Callable[[Path], None],
    *,
    force: bool = False,
    protect: Protect = (),
) -> Path:
    """Create ``directory`` with ``fill(staging)``; an interrupted or failed fill leaves
    nothing behind, and an existing folder is replaced only with ``force`` when ipsim
    wrote it and everything it holds (see :func:`check_target`)."""
    target = Path(directory)
    check_target(target, force=force, protect=protect)
    try:
        real = _real(target)
        real.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(real.parent)
        staging = Path(tempfile.mkdtemp(prefix=f".{real.name[:_STAGING_NAME]}.", dir=real.parent))
    except OSError as exc:
        raise _os_error(target, exc) from None
    try:
        _write_staging_mark(staging, real.name, "staging")
        fill(staging)
        _mark_folder(staging)
        os.chmod(staging, 0o755)
        if real.exists():
            _replace(target, real, staging)
        else:
            staging.rename(real)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _os_error(target, exc) from None
        raise
    with contextlib.suppress(OSError):  # if it stays, it names this folder: never removed
        (real / STAGING_MARK).unlink(missing_ok=True)
    return target


def _replace(target: Path, real: Path, staging: Path) -> None:
    """Swap the finished ``staging`` in for the existing ``real``, then delete the old
    folder. The old one is checked again once set aside, so a file added meanwhile stays."""
    _check_replaceable(target, real)
    _write_staging_mark(real, real.name, "old")
    old = Path(tempfile.mkdtemp(prefix=f".{real.name[:_STAGING_NAME]}.old.", dir=real.parent))
    old.rmdir()
    real.rename(old)
    try:
        _check_replaceable(target, old)
    except OutputError:
        old.rename(real)
        (real / STAGING_MARK).unlink(missing_ok=True)
        raise
    staging.rename(real)
    # The new results are in place; an old folder that cannot be deleted now carries
    # its staging mark, and the next write into this parent removes it.
    shutil.rmtree(old, ignore_errors=True)


# --- files ---------------------------------------------------------------------------


def _owner(target: Path) -> tuple[Path, dict[str, Any], str] | None:
    """The results folder holding ``target`` (at any depth), its mark and the target's
    name relative to it."""
    for folder in target.parents:
        mark = _read_mark(folder)
        if mark is not None:
            return folder, mark, target.relative_to(folder).as_posix()
    return None


def _head(path: Path, size: int = 4096) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def check_file_target(target: Path, *, force: bool, ours: Signature | None = None) -> None:
    """Refuse an output file that may not be written: a folder, a symbolic link, one of
    a results folder's own files, or an existing file that ipsim did not write (listed
    in its results folder's mark or recognised by ``ours`` from its first bytes); an
    existing file of ipsim's is replaced only with ``force``."""
    try:
        if target.is_dir() and not target.is_symlink():
            raise OutputExistsError(f"{target}: is a folder, not a file")
        real = _check_place(target, (), kind="file")
        if not real.exists():
            return
        owner = _owner(real)
        if owner is not None and owner[2] in owner[1]["files"]:
            raise OutputError(
                f"{target}: is one of the results files of {owner[0]}; writing over it "
                "would spoil that folder: choose another file name"
            )
        mine = owner is not None and owner[2] in owner[1]["added"]
        if not mine and not (ours is not None and real.is_file() and ours(_head(real))):
            raise _refuse(target, "exists and was not written by ipsim", "choose another file")
    except OSError as exc:
        raise _os_error(target, exc) from None
    if not force:
        raise OutputExistsError(f"{target}: exists already; use --force to replace it")


def _record(real: Path) -> None:
    """List ``real`` in the mark of the results folder holding it, if any, before it is
    written: a folder never holds a file of ipsim's that its mark does not list."""
    owner = _owner(real)
    if owner is None or owner[2] in owner[1]["added"]:
        return
    folder, mark, name = owner
    mark["added"] = sorted({*mark["added"], name})
    handle, staged = tempfile.mkstemp(prefix=".ipsim-results.", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(json.dumps(mark, indent=1) + "\n")
        os.chmod(staged, 0o644)
        os.replace(staged, folder / RESULTS_MARK)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise


def write_file(
    path: str | os.PathLike[str],
    fill: Callable[[Path], None],
    *,
    force: bool = False,
    ours: Signature | None = None,
) -> Path:
    """Create the file ``path`` with ``fill(staging)``, staged next to it and renamed into
    place; a failed fill leaves nothing, an existing file is replaced only with ``force``
    and only when ipsim wrote it (see :func:`check_file_target`)."""
    target = Path(path)
    check_file_target(target, force=force, ours=ours)
    try:
        real = _real(target)
        real.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f".{real.stem[:_STAGING_NAME]}.", suffix=real.suffix, dir=real.parent
        )
        os.close(handle)
    except OSError as exc:
        raise _os_error(target, exc) from None
    staging = Path(name)
    try:
        fill(staging)
        os.chmod(staging, 0o644)
        _record(real)
        os.replace(staging, real)
    except BaseException as exc:
        staging.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _os_error(target, exc) from None
        raise
    return target
