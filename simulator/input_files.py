"""Input files read safely: regular files only, and never more than a documented size.

:func:`read_bounded` is the one way ipsim reads a file a user names (scenarios, lifetime
CSVs; trace files to come). It refuses a directory, a FIFO, a device or a socket without
reading it (opening a FIFO that has no writer would wait forever), refuses a file larger
than its limit before reading it, and reads at most the limit plus one byte, so that a
file whose size the system does not report (``/proc``) or that grows meanwhile is
refused too, never read whole.
"""

from __future__ import annotations

import os
import stat

from .errors import IpsimError

__all__ = ["InputFileError", "read_bounded"]

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
