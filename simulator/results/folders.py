"""Results folders written atomically: staged next to the target, then renamed into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from simulator.errors import OutputExistsError

__all__ = ["check_file_target", "check_target", "write_file", "write_folder"]


def check_target(target: Path, *, force: bool) -> None:
    """Refuse a results folder that exists (unless ``force``) or is not a folder."""
    if target.exists() and not force:
        raise OutputExistsError(f"{target}: exists already; use --force to replace it")
    if target.exists() and not target.is_dir():
        raise OutputExistsError(f"{target}: exists and is not a folder")


def write_folder(
    directory: str | os.PathLike[str], fill: Callable[[Path], None], *, force: bool = False
) -> Path:
    """Create ``directory`` with ``fill(staging)``; an interrupted or failed fill leaves
    nothing behind, and an existing folder is replaced only with ``force``."""
    target = Path(directory)
    check_target(target, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        fill(staging)
        os.chmod(staging, 0o755)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            old.rmdir()
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def check_file_target(target: Path, *, force: bool) -> None:
    """Refuse an output file that exists (unless ``force``) or is a folder."""
    if target.is_dir():
        raise OutputExistsError(f"{target}: is a folder, not a file")
    if target.exists() and not force:
        raise OutputExistsError(f"{target}: exists already; use --force to replace it")


def write_file(
    path: str | os.PathLike[str], fill: Callable[[Path], None], *, force: bool = False
) -> Path:
    """Create the file ``path`` with ``fill(staging)``, staged next to it and renamed into
    place; a failed fill leaves nothing, an existing file is replaced only with ``force``."""
    target = Path(path)
    check_file_target(target, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent
    )
    os.close(handle)
    staging = Path(name)
    try:
        fill(staging)
        os.chmod(staging, 0o644)
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return target
