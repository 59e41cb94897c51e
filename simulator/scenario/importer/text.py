"""A scenario document as YAML with comments: PyYAML writes no comments, so mappings and
lists are laid out here and each scalar is spelt by PyYAML's own safe dumper."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

__all__ = ["commented_yaml"]

Path = tuple[Any, ...]


def _scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _flat(value: Any) -> bool:
    """A value written on one line: a scalar, or a list or mapping of scalars."""
    if isinstance(value, Mapping):
        return all(not isinstance(v, Mapping | list) for v in value.values())
    if isinstance(value, list):
        return all(not isinstance(v, Mapping | list) for v in value)
    return True


def _noted(value: Any, path: Path, notes: dict[Path, str]) -> bool:
    """Whether a key of mapping ``value`` has a comment (it is then not written inline)."""
    return isinstance(value, Mapping) and any((*path, k) in notes for k in value)


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return _scalar(value)


def _comment(lines: list[str], pad: str, text: str | None) -> None:
    for line in (text or "").splitlines():
        lines.append(f"{pad}# {line}" if line else f"{pad}#")


def _mapping(
    value: Mapping,
    path: Path,
    pad: str,
    notes: dict[Path, str],
    lines: list[str],
    *,
    dash: bool = False,
) -> None:
    """Write a mapping's keys at ``pad``; ``dash``: it is a list item, whose first key
    follows the ``- `` (its comment goes above, at the dash)."""
    for i, (key, item) in enumerate(value.items()):
        note = notes.get((*path, key))
        if dash and i == 0:
            _comment(lines, pad[:-2], note)
            lead = pad[:-2] + "- "
        else:
            _comment(lines, pad, note)
            lead = pad
        if _flat(item) and not _noted(item, (*path, key), notes):
            lines.append(f"{lead}{key}: {_inline(item)}")
        elif isinstance(item, Mapping):
            lines.append(f"{lead}{key}:")
            _mapping(item, (*path, key), pad + "  ", notes, lines)
        else:
            lines.append(f"{lead}{key}:")
            _sequence(item, (*path, key), pad + "  ", notes, lines)


def _sequence(value: list, path: Path, pad: str, notes: dict[Path, str], lines: list[str]) -> None:
    for i, item in enumerate(value):
        _comment(lines, pad, notes.get((*path, i)))
        if (
            isinstance(item, Mapping)
            and item
            and (not _flat(item) or _noted(item, (*path, i), notes))
        ):
            _mapping(item, (*path, i), pad + "  ", notes, lines, dash=True)
        else:
            lines.append(f"{pad}- {_inline(item)}")


def commented_yaml(
    document: Mapping[str, Any],
    notes: dict[Path, str],
    header: list[str],
    footer: list[str] | None = None,
) -> str:
    """``document`` as YAML, each ``notes[path]`` a comment above the key it names, the
    ``header`` lines commented at the top and ``footer`` lines (already commented) at
    the end."""
    lines: list[str] = []
    _comment(lines, "", "\n".join(header))
    _mapping(document, (), "", notes, lines)
    lines.extend(footer or [])
    return "\n".join(lines) + "\n"
