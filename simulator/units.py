"""Durations as written in scenario files (``90s``, ``10m``, ``2h``, ``1d`` or bare seconds)."""

from __future__ import annotations

import math
import re
from decimal import Decimal

__all__ = ["format_duration", "parse_duration"]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([smhd]?)\s*$")


def parse_duration(value: object) -> float:
    """Return seconds for a duration; raise ``ValueError`` with the allowed forms otherwise."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 30s, 10m, 2h, 1d or a number of seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        if value.strip().startswith("-"):
            raise ValueError("must be a non-negative duration")
        match = _PATTERN.match(value)
        if not match:
            raise ValueError("must be a duration such as 30s, 10m, 2h, 1d or a number of seconds")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError("must be a duration such as 30s, 10m, 2h, 1d or a number of seconds")
    if not math.isfinite(seconds):
        raise ValueError("must be finite: a duration such as 30s, 10m, 2h or 1d")
    if seconds < 0:
        raise ValueError("must be a non-negative duration")
    return seconds


def format_duration(seconds: float) -> str:
    """Shortest exact spelling of ``seconds`` in the largest whole unit (``7200`` -> ``2h``)."""
    for suffix in ("d", "h", "m"):
        size = _UNITS[suffix]
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds // size)}{suffix}"
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    # repr() is the shortest text that reads back to the same float; Decimal spells it
    # without an exponent, which the parser accepts.
    return f"{Decimal(repr(float(seconds))):f}s"
