"""The generic pod table every trace format is read into, and the parsing of its cells.

One row per pod: its name, when it was created, scheduled (bound to a node) and deleted,
its CPU, memory and GPU requests, the node and node pool it ran on, its group (owner,
application) and whether it used the host network. Times are seconds: from the trace's
start, or Unix seconds where the file gives timestamps (``absolute``). A missing value
is NaN (times) or -1 (requests, host network: not given, the workload's keys fill in).

Cells are parsed a column at a time (numpy converts plain numbers in C); a cell that is
not a plain number is parsed on its own, so a bad one is named by row and column.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from simulator.errors import InputError

__all__ = [
    "FIELDS",
    "MISSING",
    "UNITS",
    "PodTable",
    "Problems",
    "ReadOptions",
    "assemble",
    "parse_bool",
    "parse_cpu",
    "parse_memory",
    "parse_timestamp",
]

#: The fields of the generic pod table, in the order ``ipsim trace convert`` writes them.
FIELDS = (
    "name",
    "created",
    "scheduled",
    "deleted",
    "cpu",
    "memory",
    "gpu",
    "node",
    "pool",
    "group",
    "host_network",
    "max_per_node",
)

#: Cells that mean "no value": empty, and the spellings pandas and others write for NaN.
MISSING = frozenset({"", "nan", "NaN", "NAN", "null", "NULL", "None", "none", "NA", "N/A"})

_CPU_UNITS = {"cores": 1000.0, "millicores": 1.0}
_MEMORY_UNITS = {"bytes": 1 / 1024**2, "KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0}
_MEMORY_SUFFIX = {
    "Ki": 1 / 1024,
    "Mi": 1.0,
    "Gi": 1024.0,
    "Ti": 1024.0**2,
    "K": 1000 / 1024**2,
    "M": 1000**2 / 1024**2,
    "G": 1000**3 / 1024**2,
    "T": 1000**4 / 1024**2,
}
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")
_FRACTION = re.compile(r"^(.*T\d\d:\d\d:\d\d\.\d{1,6})\d*(.*)$")
_PORTAL = re.compile(
    r"^\s*(\d{1,2})/(\d{1,2})/(\d{4}),?\s+(\d{1,2}):(\d\d):(\d\d)(?:\.(\d{1,6})\d*)?\s*([AaPp][Mm])\s*$"
)


#: What a plain number means in the CPU, memory and time columns, unless told otherwise.
UNITS = {"cpu": "cores", "memory": "MiB", "time": "s"}


@dataclass(frozen=True)
class ReadOptions:
    """How to read one file: the column of each field, units, what to do with bad rows."""

    columns: dict[str, str]  # field -> the file's column (the format's, then the user's)
    given: dict[str, str] = field(default_factory=dict)  # the user's own mapping
    units: dict[str, str] = field(default_factory=lambda: dict(UNITS))
    drop_bad: bool = False  # drop malformed rows (counted) instead of refusing the file
    round_times: bool = False  # round times to the second (float noise in the file)
    group_with: str | None = None  # a column whose value joins the group's ("app/role")

    @property
    def time_scale(self) -> float:
        return 0.001 if self.units.get("time") == "ms" else 1.0


@dataclass
class PodTable:
    """A trace's pods, one row each, as columns."""

    source: str  # the file's name, for messages
    names: list[str]
    rows: np.ndarray  # each pod's row in the file (1 = the first record), for messages
    created: np.ndarray  # seconds; NaN: not given (before the trace began)
    scheduled: np.ndarray  # seconds; NaN: never scheduled, or not known
    deleted: np.ndarray  # seconds; NaN: alive at the end of the trace
    cpu: np.ndarray  # millicores; -1: not given
    memory: np.ndarray  # MiB; -1: not given
    gpu: np.ndarray  # GPUs (nvidia.com/gpu); -1: not given
    node: list[str]  # "" where not given
    pool: list[str]
    group: list[str]
    host_network: np.ndarray  # 1, 0, or -1: not given
    max_per_node: np.ndarray  # pods of the pod's group per node at most; 0: no cap
    absolute: bool = False  # times are Unix seconds (the file gave timestamps)
    start: float | None = None  # the trace's own start and end, where the format records them
    end: float | None = None
    scheduling_known: bool = False  # a missing scheduled time means "never scheduled"
    dropped: Counter[str] = field(default_factory=Counter)  # rows not read, by reason

    def __len__(self) -> int:
        return len(self.names)

    @property
    def nodes(self) -> list[str]:
        """The nodes the trace names, in order of first appearance."""
        return [n for n in dict.fromkeys(self.node) if n]


class Problems:
    """Where bad cells and rows go: refused at once (one error naming the row and the
    column), or dropped and counted by reason (``bad_rows: drop``)."""

    def __init__(
        self,
        source: str,
        rows: np.ndarray,
        *,
        drop: bool,
        row_word: str = "row",
        lines: Any = None,
    ):
        self.source = source
        self.rows = rows
        self.drop = drop
        self.row_word = row_word
        self.lines = lines  # each row's line in a text file, where it has one
        self.bad = np.zeros(len(rows), dtype=bool)
        self.reasons: Counter[str] = Counter()

    def where(self, i: int, column: str | None) -> str:
        place = f"{self.row_word} {int(self.rows[i])}"
        if self.lines is not None:
            place += f" (line {self.lines[i]})"
        return f"{place}, column {column!r}" if column else place

    def report(self, i: int, column: str | None, message: str, value: Any = None) -> None:
        """Row ``i`` is bad: raise, or mark it dropped with its reason."""
        if not self.drop:
            kwargs = {} if value is None else {"value": value}
            raise InputError(message, source=self.source, where=self.where(i, column), **kwargs)
        if not self.bad[i]:
            self.bad[i] = True
            self.reasons[f"bad row: {column + ': ' if column else ''}{message}"] += 1


def parse_timestamp(text: str) -> float | None:
    """Unix seconds of an ISO 8601 time (a time without an offset is UTC), or of the
    Azure portal's US form ``3/19/2024, 11:49:00.000 PM``; None if it is neither."""
    t = text.strip()
    if t[-1:] in ("Z", "z"):
        t = t[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(t)
    except ValueError:
        trimmed = _FRACTION.match(t)  # Log Analytics writes 7 fraction digits
        moment = None
        if trimmed:
            try:
                moment = datetime.fromisoformat(trimmed.group(1) + trimmed.group(2))
            except ValueError:
                moment = None
        if moment is None:
            portal = _PORTAL.match(t)
            if portal is None:
                return None
            month, day, year, hour, minute, second, frac, half = portal.groups()
            hour = int(hour) % 12 + (12 if half.lower() == "pm" else 0)
            try:
                moment = datetime(
                    int(year),
                    int(month),
                    int(day),
                    hour,
                    int(minute),
                    int(second),
                    int((frac or "0").ljust(6, "0")),
                )
            except ValueError:
                return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _fast_floats(values: Sequence[Any]) -> np.ndarray | None:
    """The column as floats in one C conversion when every cell is a plain number or a
    missing value; None otherwise (then each cell is parsed on its own)."""
    try:
        if values and isinstance(values[0], str):
            text = np.array(values, dtype=str)
            text[np.isin(text, list(MISSING))] = "nan"
            return text.astype(float)
        return np.array([math.nan if v is None else v for v in values], dtype=float)
    except (ValueError, TypeError):
        return None


def _missing(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str) and value.strip() in MISSING)
        or (isinstance(value, float) and math.isnan(value))
    )


def parse_times(
    values: Sequence[Any], column: str, problems: Problems, *, scale: float = 1.0
) -> tuple[np.ndarray, bool | None]:
    """A column of times: seconds (``scale`` seconds per unit), ISO 8601 timestamps, or
    datetimes. Returns the seconds and whether they are timestamps (None: all missing)."""
    out = _fast_floats(values)
    if out is not None:
        out *= scale
        if np.isinf(out).any():
            i = int(np.flatnonzero(np.isinf(out))[0])
            problems.report(i, column, "not a finite time", values[i])
            out[i] = math.nan
        return out, (False if not np.isnan(out).all() else None)
    out = np.full(len(values), math.nan)
    kind: bool | None = None
    for i, value in enumerate(values):
        if _missing(value):
            continue
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
            seconds, absolute = moment.timestamp(), True
        else:
            number = _number(value)
            if number is not None and math.isfinite(number):
                seconds, absolute = number * scale, False
            else:
                stamp = parse_timestamp(str(value)) if isinstance(value, str) else None
                if stamp is None:
                    problems.report(
                        i, column, "not a time: seconds or an ISO 8601 timestamp", value
                    )
                    continue
                seconds, absolute = stamp, True
        if kind is None:
            kind = absolute
        elif kind != absolute:
            problems.report(i, column, "mixes timestamps and seconds; give one or the other", value)
            continue
        out[i] = seconds
    return out, kind


def parse_cpu(value: Any, unit: str = "cores") -> float | None:
    """Millicores from ``250m``, ``0.5`` (cores) or a number in ``unit``; None if not CPU."""
    number = _number(value)
    if number is not None:
        return number * _CPU_UNITS[unit]
    match = _QUANTITY.match(str(value))
    if match is None or match.group(2) not in ("", "m"):
        return None
    return float(match.group(1)) * (1.0 if match.group(2) == "m" else 1000.0)


def parse_memory(value: Any, unit: str = "MiB") -> float | None:
    """MiB from ``512Mi``, ``2Gi``, ``1G`` or a number in ``unit``; None if not memory."""
    number = _number(value)
    if number is not None:
        return number * _MEMORY_UNITS[unit]
    match = _QUANTITY.match(str(value))
    if match is None or match.group(2) not in _MEMORY_SUFFIX:
        return None
    return float(match.group(1)) * _MEMORY_SUFFIX[match.group(2)]


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "1.0"):
        return True
    if text in ("false", "0", "no", "0.0"):
        return False
    return None


def parse_amounts(
    values: Sequence[Any],
    column: str,
    problems: Problems,
    parse: Callable[[Any], float | None],
    what: str,
    *,
    scale: float = 1.0,
) -> np.ndarray:
    """A column of requests, -1 where missing, in whole units: a plain number is in units
    of ``scale``, anything else is read by ``parse`` (``250m``, ``2Gi``)."""
    out = _fast_floats(values)
    if out is None:
        # Requests take few distinct values ("250m", "512Mi"): each is parsed once.
        distinct: dict[Any, float] = {}
        bad = math.inf
        out = np.empty(len(values))
        for i, value in enumerate(values):
            amount = distinct.get(value)
            if amount is None:
                if _missing(value):
                    amount = math.nan
                else:
                    number = _number(value)
                    amount = number * scale if number is not None else parse(value)
                    if amount is None or not math.isfinite(amount):
                        amount = bad
                distinct[value] = amount
            if amount == bad:
                problems.report(i, column, f"not {what}", value)
                amount = math.nan
            out[i] = amount
    else:
        out *= scale
    negative = np.flatnonzero(out < 0)
    for i in negative:
        problems.report(int(i), column, "must not be negative", values[int(i)])
    out[negative] = math.nan
    return np.where(np.isnan(out), -1, np.rint(np.nan_to_num(out))).astype(np.int64)


def parse_flags(values: Sequence[Any], column: str, problems: Problems) -> np.ndarray:
    out = np.full(len(values), -1, dtype=np.int8)
    for i, value in enumerate(values):
        if _missing(value):
            continue
        flag = parse_bool(value)
        if flag is None:
            problems.report(i, column, "not true or false", value)
            continue
        out[i] = int(flag)
    return out


def texts(values: Sequence[Any] | None, count: int) -> list[str]:
    """A column of text cells, stripped; "" where missing."""
    if values is None:
        return [""] * count
    return ["" if v is None or (t := str(v).strip()) in MISSING else t for v in values]


def assemble(
    problems: Problems,
    columns: dict[str, str],
    *,
    names: list[str],
    created: np.ndarray,
    scheduled: np.ndarray,
    deleted: np.ndarray,
    cpu: np.ndarray,
    memory: np.ndarray,
    gpu: np.ndarray,
    node: list[str],
    pool: list[str],
    group: list[str],
    host_network: np.ndarray,
    max_per_node: np.ndarray,
    absolute: bool,
    start: float | None = None,
    end: float | None = None,
    scheduling_known: bool = False,
    dropped: Counter[str] | None = None,
) -> PodTable:
    """Check the rows against each other and build the table: every pod has a name, no
    name twice, nothing deleted before it was created or scheduled. Bad rows are refused
    or dropped (counted) as ``problems`` says. ``columns`` names each field's column."""
    for i in np.flatnonzero(np.array([not n for n in names], dtype=bool)):
        problems.report(int(i), columns.get("name"), "a pod needs a name")
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        if not name or problems.bad[i]:
            continue
        seen = first.setdefault(name, i)
        if seen != i:
            problems.report(
                i,
                columns.get("name"),
                f"pod name given twice (first at {problems.row_word} {int(problems.rows[seen])})",
                name,
            )
    with np.errstate(invalid="ignore"):
        for begin, label in ((created, "created"), (scheduled, "scheduled")):
            early = np.flatnonzero(deleted < begin)
            for i in early:
                problems.report(
                    int(i),
                    columns.get("deleted"),
                    f"deleted before it was {label} ({begin[i]:g})",
                    float(deleted[i]),
                )
        late = np.flatnonzero(scheduled < created)
        for i in late:
            problems.report(
                int(i),
                columns.get("scheduled"),
                f"scheduled before it was created ({created[i]:g})",
                float(scheduled[i]),
            )
    keep = ~problems.bad
    reasons = Counter(dropped or {})
    reasons.update(problems.reasons)

    def pick(values):
        if isinstance(values, np.ndarray):
            return values[keep]
        return [v for v, k in zip(values, keep, strict=True) if k]

    return PodTable(
        source=problems.source,
        names=pick(names),
        rows=problems.rows[keep],
        created=pick(created),
        scheduled=pick(scheduled),
        deleted=pick(deleted),
        cpu=pick(cpu),
        memory=pick(memory),
        gpu=pick(gpu),
        node=pick(node),
        pool=pick(pool),
        group=pick(group),
        host_network=pick(host_network),
        max_per_node=pick(max_per_node),
        absolute=absolute,
        start=start,
        end=end,
        scheduling_known=scheduling_known,
        dropped=reasons,
    )
