"""Reading scenario files: YAML in, a validated and resolved :class:`Scenario` out.

Every problem becomes a :class:`ScenarioError` naming the file, the dotted field path,
the bad value and what is allowed; nothing else escapes.
"""

from __future__ import annotations

import difflib
import os
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .errors import ScenarioError, format_path
from .scenario import Scenario
from .scenario_rules import resolve

__all__ = ["load_scenario", "read_document"]

#: Scenario files larger than this are refused before parsing.
MAX_FILE_BYTES = 5_000_000


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (YAML says keys
    are unique; PyYAML would silently keep the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict):
                continue  # unhashable keys are reported by the base class
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a YAML scenario file into a mapping (safe loader: no object construction)."""
    source = str(path)
    file = Path(path)
    if file.is_dir():
        raise ScenarioError("is a directory, not a scenario file", source=source)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(
                f"file is {size} bytes; scenario files are limited to {MAX_FILE_BYTES}",
                source=source,
            )
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ScenarioError("no such file", source=source) from None
    except OSError as exc:
        raise ScenarioError(f"cannot be read: {exc.strerror}", source=source) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"is not UTF-8 text (bad byte at offset {exc.start})", source=source
        ) from None
    try:
        # _StrictLoader is a SafeLoader: tags such as !!python/object are refused.
        document = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"invalid YAML: {where}{problem}", source=source) from None
    if document is None:
        raise ScenarioError("is empty; a scenario is a YAML mapping", source=source)
    if not isinstance(document, dict):
        raise ScenarioError(
            f"must be a YAML mapping of keys, not a {type(document).__name__}", source=source
        )
    return document


def load_scenario(
    source: str | os.PathLike[str] | dict[str, Any] | Scenario,
    *,
    base: str | os.PathLike[str] | None = None,
) -> Scenario:
    """Load, validate and resolve a scenario from a file path, a mapping or a model.

    ``base``: the folder files named in a mapping are relative to (default: the file's
    folder, or the current folder for a mapping)."""
    if isinstance(source, Scenario):
        return resolve(source)
    name = None
    base = Path(base) if base is not None else None
    if isinstance(source, dict):
        document = source
    else:
        name = str(source)
        document = read_document(source)
        base = base or Path(source).resolve().parent
    try:
        try:
            scenario = Scenario.model_validate(document)
        except ValidationError as exc:
            raise _translate(exc) from None
        return resolve(scenario, base)
    except ScenarioError as exc:
        raise exc.with_source(name) if name else exc from None


# --- pydantic errors, reworded --------------------------------------------------------


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``list[X] | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _field_at(loc: tuple[Any, ...]) -> Any:
    """The pydantic field named by the last key of ``loc`` (list indices skipped)."""
    keys = tuple(part for part in loc if not isinstance(part, int))
    owner = _owner_model(keys)
    return owner.model_fields.get(keys[-1]) if owner and keys else None


def _bounds(field: Any) -> tuple[Any, Any]:
    low = high = None
    for meta in getattr(field, "metadata", []):
        low = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else low
        high = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else high
    return low, high


def _translate(exc: ValidationError) -> ScenarioError:
    errors = exc.errors(include_url=False)
    # A misspelt key shows up twice: unknown, and the real key missing. Say the first.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    path = format_path(loc)
    if kind == "extra_forbidden":
        owner = _owner_model(loc)
        allowed = list(owner.model_fields) if owner else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
        return ScenarioError(f"unknown key; {hint}", path=path)
    if kind == "missing":
        return ScenarioError("is required", path=path)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return ScenarioError("must be a mapping of keys", path=path, value=value)
    if kind in ("greater_than_equal", "less_than_equal"):
        low, high = _bounds(_field_at(loc))
        if low is not None and high is not None:
            return ScenarioError(f"must be between {low} and {high}", path=path, value=value)
    if kind == "string_pattern_mismatch":
        return ScenarioError(
            "is not a valid name here: use letters, digits and the separators allowed "
            f"for this resource (pattern {error['ctx']['pattern']})",
            path=path,
            value=value,
        )
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    message = message.replace("Input should be", "must be").replace(
        "Input should have", "must have"
    )
    message = message.replace("List should have", "must have")
    return ScenarioError(message, path=path, value=value)


def _owner_model(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model in which the last key of ``loc`` was found unknown."""
    model: type[BaseModel] | None = Scenario
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = _model_of(field.annotation) if field is not None else None
    return model
