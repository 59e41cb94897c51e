"""Durations as written in scenario files (``90s``, ``10m``, ``2h``, ``1d`` or bare seconds),
and counts given as a number or a percentage of a total (``25%``)."""

from __future__ import annotations

import math
import re
from decimal import Decimal

__all__ = ["format_duration", "parse_duration", "resolve_count"]

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


def resolve_count(value: int | str, total: int, *, round_up: bool) -> int:
    """A count or a percentage of ``total``, rounded the way Kubernetes rounds it."""
    if isinstance(value, int):
        return value
    exact = float(value.rstrip("%")) * total / 100
    # Round in a way that ignores float noise: 25 % of 12 is 3, not 3.0000000001.
    return math.ceil(exact - 1e-9) if round_up else math.floor(exact + 1e-9)
