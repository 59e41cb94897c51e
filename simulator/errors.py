"""User-facing errors.

Every error the tool reports to a user derives from :class:`IpsimError`; the CLI turns
any of them into one line and exit status 2::

    IpsimError
    ├── ScenarioError        a scenario file or document is wrong (names file, field, value)
    ├── InputError           a data file (a trace, an exported JSON) is wrong (names file,
    │                        where in it: row and column or field, value)
    └── OutputExistsError    a results folder exists and --force was not given
"""

from __future__ import annotations

import itertools
import math
import reprlib
from typing import Any

__all__ = ["InputError", "IpsimError", "OutputExistsError", "ScenarioError", "format_path"]


class IpsimError(Exception):
    """Base class of every error meant for the user rather than for a traceback."""


def format_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """Render a location such as ``("clusters", 0, "max_pods")`` as ``clusters[0].max_pods``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _printable(str(part))
    return out


def _printable(text: str) -> str:
    """``text`` as is, or quoted with escapes when it holds a line break or another
    control character: an error stays one line on a terminal."""
    return text if text.isprintable() else repr(text)


class _Brief(reprlib.Repr):
    """``repr`` that stays short and cheap whatever the value: deep nesting, YAML alias
    bombs (one list referenced a billion times) and integers of thousands of digits."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdict = 6

    def repr_int(self, x: int, level: int) -> str:
        return _integer(x)

    def repr_dict(self, x: dict[Any, Any], level: int) -> str:
        # As str() shows a mapping: in its own order, not sorted.
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        items = [
            f"{self.repr1(k, level - 1)}: {self.repr1(v, level - 1)}"
            for k, v in itertools.islice(x.items(), self.maxdict)
        ]
        return "{" + ", ".join(items) + (", ..." if len(x) > self.maxdict else "") + "}"


_BRIEF = _Brief()


def _integer(value: int) -> str:
    if value.bit_length() <= 1000:
        return repr(value)
    # repr() of a huge integer is slow, and refused past 4300 digits.
    return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = repr(value[:100])
    elif isinstance(value, int) and not isinstance(value, bool):
        text = _integer(value)
    elif isinstance(value, list | tuple | dict | set | frozenset):
        text = _BRIEF.repr(value)
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


_MISSING = object()


class ScenarioError(IpsimError):
    """A scenario is invalid: carries the file, the dotted field path, the value and the rule."""

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        value: Any = _MISSING,
        source: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.value = value
        self.source = source
        super().__init__(str(self))

    def with_source(self, source: str) -> ScenarioError:
        """Return the same error attributed to ``source`` (a file name)."""
        return ScenarioError(self.message, path=self.path, value=self.value, source=source)

    def __str__(self) -> str:
        head = f"{_printable(self.source)}: " if self.source else ""
        where = f"{self.path}: " if self.path else ""
        got = "" if self.value is _MISSING else f" (got {_show(self.value)})"
        return f"{head}{where}{self.message}{got}"


class InputError(IpsimError):
    """A data file is not what it should be: a trace row, a field of an exported JSON.

    ``source`` is the file, ``where`` the place in it (``row 12, column 'created'``, or a
    dotted field), ``value`` what was found there."""

    def __init__(
        self, message: str, *, source: str = "", where: str = "", value: Any = _MISSING
    ) -> None:
        self.message = message
        self.source = source
        self.where = where
        self.value = value
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"{_printable(self.source)}: " if self.source else ""
        where = f"{_printable(self.where)}: " if self.where else ""
        got = "" if self.value is _MISSING else f" (got {_show(self.value)})"
        return f"{head}{where}{self.message}{got}"


class OutputExistsError(IpsimError):
    """The results folder exists already and overwriting was not asked for."""
