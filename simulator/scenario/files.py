"""Input files read safely, and the data files a scenario names (an empirical lifetime's
CSV), read from the scenario's folder.

:func:`read_bounded` is the one way ipsim reads a file a user names (scenarios, lifetime
CSVs, traces, exports). It refuses a directory, a FIFO, a device or a socket without
reading it (opening a FIFO that has no writer would wait forever), refuses a file larger
than its limit before reading it, and reads at most the limit plus one byte, so that a
file whose size the system does not report (``/proc``) or that grows meanwhile is
refused too, never read whole. A data file must lie inside the folder of the scenario
that names it, so a scenario cannot read what its author did not put beside it.
"""

from __future__ import annotations

import csv
import io
import math
import os
import stat
from pathlib import Path

from simulator.errors import IpsimError, ScenarioError

__all__ = [
    "MAX_LIFETIME_BYTES",
    "InputFileError",
    "check_data_file",
    "read_bounded",
    "read_lifetimes",
]

#: Lifetime CSV files larger than this are refused before they are read.
MAX_LIFETIME_BYTES = 20_000_000

_KINDS = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
]


class InputFileError(IpsimError):
    """An input file cannot be read; the message says why, without the file's name
    (callers put it where their messages name files)."""


def _kind(mode: int) -> str | None:
    for test, name in _KINDS:
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def read_bounded(path: str | os.PathLike[str], limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises :class:`InputFileError` for a missing or unreadable file, one that is not a
    regular file (``is a directory, not a {what}``), or one larger than ``limit`` bytes
    (``{what}s are limited to {limit} bytes``)."""
    too_big = f"{what}s are limited to {limit} bytes"
    try:
        kind = _kind(os.stat(path).st_mode)
        if kind is not None:
            raise InputFileError(f"is {kind}, not a {what}")
        # Non-blocking: should a FIFO replace the file after stat(), open() returns.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            kind = _kind(info.st_mode)
            if kind is not None:
                raise InputFileError(f"is {kind}, not a {what}")
            if info.st_size > limit:
                raise InputFileError(f"is {info.st_size} bytes; {too_big}")
            raw = handle.read(limit + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise InputFileError("no such file") from None
    except OSError as exc:
        raise InputFileError(f"cannot be read: {exc.strerror or exc}") from None
    except ValueError:  # a NUL byte in the name
        raise InputFileError("is not a valid file name") from None
    if len(raw) > limit:
        raise InputFileError(f"is larger than allowed; {too_big}")
    return raw


def check_data_file(name: str, base: Path, path: str) -> Path:
    """The file ``name`` in the scenario folder ``base``; ``path`` is the field naming it."""
    file = Path(name)
    try:
        target = (base / file).resolve()
        inside = not file.is_absolute() and target.is_relative_to(base.resolve())
        exists = inside and target.exists()  # read_bounded names what else it is
    except (OSError, ValueError):  # a NUL byte, a name too long for the system
        raise ScenarioError("is not a valid file name", path=path, value=name) from None
    if not inside:
        raise ScenarioError(
            "must be a path inside the scenario's folder", path=path, value=str(file)
        )
    if not exists:
        raise ScenarioError(
            f"no such file next to the scenario ({target})", path=path, value=str(file)
        )
    return target


def read_lifetimes(file: Path, column: str, path: str = "lifetime") -> list[float]:
    """The positive durations (seconds) in ``column`` of a CSV file of at most
    :data:`MAX_LIFETIME_BYTES` (a byte-order mark before the header is allowed)."""
    try:
        raw = read_bounded(file, MAX_LIFETIME_BYTES, "lifetime file")
    except InputFileError as exc:
        raise ScenarioError(f"{file.name} {exc}", path=f"{path}.file") from None
    try:
        # utf-8-sig: spreadsheets (Excel) start a UTF-8 CSV with a byte-order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{file.name} is not UTF-8 text (bad byte at offset {exc.start})", path=f"{path}.file"
        ) from None
    try:
        with io.StringIO(text, newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or column not in reader.fieldnames:
                known = ", ".join(reader.fieldnames or []) or "none"
                raise ScenarioError(
                    f"no column {column!r} in {file.name} (columns: {known})",
                    path=f"{path}.column",
                    value=column,
                )
            values = []
            for row, record in enumerate(reader, start=2):
                text = (record.get(column) or "").strip()
                if not text:
                    continue
                try:
                    value = float(text)
                except ValueError:
                    raise ScenarioError(
                        f"{file.name} line {row}: not a number of seconds",
                        path=f"{path}.column",
                        value=text,
                    ) from None
                if not math.isfinite(value) or value <= 0:
                    raise ScenarioError(
                        f"{file.name} line {row}: durations must be positive",
                        path=f"{path}.column",
                        value=text,
                    )
                values.append(value)
    except csv.Error as exc:
        raise ScenarioError(
            f"{file.name} is not a valid CSV file ({exc})", path=f"{path}.file"
        ) from None
    if not values:
        raise ScenarioError(
            f"column {column!r} of {file.name} holds no durations", path=f"{path}.column"
        )
    return values
