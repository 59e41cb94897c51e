"""User-facing errors.

Every error the tool reports to a user derives from :class:`IpsimError`; the CLI turns
any of them into one line and exit status 2::

    IpsimError
    ├── ScenarioError        a scenario file or document is wrong (names file, field, value)
    ├── InputError           a data file (a trace, an exported JSON) is wrong (names file,
    │                        where in it: row and column or field, value)
    └── OutputError          an output cannot be written where asked (refused or failed)
        └── OutputExistsError    a results folder exists and --force was not given
"""

from __future__ import annotations

import itertools
import math
import re
import reprlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

__all__ = [
    "InputError",
    "IpsimError",
    "Name",
    "OutputError",
    "OutputExistsError",
    "ScenarioError",
    "Terminated",
    "format_path",
    "item_keys",
    "raise_terminated",
]


class IpsimError(Exception):
    """Base class of every error meant for the user rather than for a traceback."""


class Name(str):
    """A list item's name in a location: rendered ``[name]``, as ``--set`` accepts it."""


def format_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """Render a location such as ``("clusters", Name("aks1"), "max_pods")`` as
    ``clusters[aks1].max_pods``; an int is an index (``clusters[0]``)."""
    out = ""
    for part in loc:
        if isinstance(part, int | Name):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _printable(str(part))
    return out


def _printable(text: str) -> str:
    """``text`` as is, or quoted with escapes when it is empty or holds a line break or
    another control character: an error stays one line on a terminal and names every key."""
    return text if text.isprintable() and text else repr(text)


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]*[A-Za-z_][A-Za-z0-9_-]*")


def _name_of(item: Any) -> Any:
    return item.get("name") if isinstance(item, dict) else getattr(item, "name", None)


def item_keys(items: Sequence[Any]) -> list[Name | int]:
    """How a location names each of ``items`` (mappings or models): by its name where it
    has one that no sibling shares and that ``--set KEY[name]`` can spell (letters,
    digits, ``_`` and ``-``, not only digits); by its index otherwise."""
    names = [_name_of(item) for item in items]
    counts = Counter(name for name in names if isinstance(name, str))
    return [
        Name(name)
        if isinstance(name, str) and counts[name] == 1 and _PLAIN_NAME.fullmatch(name)
        else index
        for index, name in enumerate(names)
    ]


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


class Terminated(BaseException):
    """SIGTERM, raised where the program is (see :func:`raise_terminated`), so that staged
    results are removed on the way out as for Ctrl-C. A BaseException, like
    KeyboardInterrupt: no ``except Exception`` swallows it."""


def raise_terminated(signum: int, frame: Any) -> None:
    """A SIGTERM handler: ``signal.signal(signal.SIGTERM, raise_terminated)``."""
    raise Terminated


class OutputError(IpsimError):
    """An output folder or file cannot be written where it was asked for: the target is
    refused (not ipsim's to replace) or the system failed (disk full, read-only)."""


class OutputExistsError(OutputError):
    """The results folder exists already and overwriting was not asked for."""
