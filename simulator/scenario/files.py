"""Data files a scenario names (an empirical lifetime's CSV), read from the scenario's folder.

A file must lie inside the folder of the scenario that names it, so a scenario cannot
read what its author did not put beside it.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from simulator.errors import ScenarioError

__all__ = ["check_data_file", "read_lifetimes"]


def check_data_file(name: str, base: Path, path: str) -> Path:
    """The file ``name`` in the scenario folder ``base``; ``path`` is the field naming it."""
    file = Path(name)
    try:
        target = (base / file).resolve()
        inside = not file.is_absolute() and target.is_relative_to(base.resolve())
        exists = inside and target.is_file()
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
    """The positive durations (seconds) in ``column`` of a CSV file."""

    try:
        with open(file, newline="", encoding="utf-8") as handle:
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
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read {file.name}: {exc}", path=f"{path}.file") from None
    if not values:
        raise ScenarioError(
            f"column {column!r} of {file.name} holds no durations", path=f"{path}.column"
        )
    return values
