"""User-facing errors.

Every error the tool reports to a user derives from :class:`IpsimError`; the CLI turns
any of them into one line and exit status 2::

    IpsimError
    ├── ScenarioError        a scenario file or document is wrong (names file, field, value)
    └── OutputExistsError    a results folder exists and --force was not given
"""

from __future__ import annotations

from typing import Any

__all__ = ["IpsimError", "OutputExistsError", "ScenarioError", "format_path"]


class IpsimError(Exception):
    """Base class of every error meant for the user rather than for a traceback."""


def format_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """Render a location such as ``("clusters", 0, "max_pods")`` as ``clusters[0].max_pods``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
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
        head = f"{self.source}: " if self.source else ""
        where = f"{self.path}: " if self.path else ""
        got = "" if self.value is _MISSING else f" (got {_show(self.value)})"
        return f"{head}{where}{self.message}{got}"


class OutputExistsError(IpsimError):
    """The results folder exists already and overwriting was not asked for."""
