"""Reading scenario files: YAML in, a validated and resolved :class:`Scenario` out.

Every problem becomes a :class:`ScenarioError` naming the file, the dotted field path,
the bad value and what is allowed; nothing else escapes.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ValidationError

from simulator.core.collector import collector_paused
from simulator.core.units import format_duration
from simulator.errors import ScenarioError, format_path, item_keys
from simulator.scenario.files import InputFileError, read_bounded
from simulator.scenario.models import Scenario
from simulator.scenario.rules import resolve

__all__ = ["load_scenario", "read_document", "read_value", "write_document", "yaml11_hint"]

#: Scenario files larger than this are refused before parsing.
MAX_FILE_BYTES = 5_000_000


_TAG = "tag:yaml.org,2002:"
_MERGE = _TAG + "merge"


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (YAML says keys
    are unique; PyYAML would silently keep the last one), and reading plain scalars as
    YAML 1.2's core schema does (see :data:`_SCALARS`). Merge keys (``<<: *base``) are
    supported: the mapping's own keys win over merged ones."""

    # Filled from _SCALARS below, instead of SafeLoader's YAML 1.1 resolvers.
    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, re.Pattern[str]]]]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue  # merged keys may be overridden: only the mapping's own count
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict):
                continue  # unhashable keys are reported by the base class
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_DIGITS = r"[0-9](?:_?[0-9])*"
#: Plain scalars that are not text, as in YAML 1.2's core schema plus Python's digit
#: grouping (``1_000``). YAML 1.1, which PyYAML follows, also reads ``1:30`` as 90 (base
#: 60), ``010`` as 8 (octal), ``yes``/``no``/``on``/``off`` as booleans and ``2025-01-01`` as
#: a date: here they stay text, a text field takes them as written and any other field
#: refuses them with a hint (:func:`yaml11_hint`), so no value turns into another number.
_SCALARS = [
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"[-+]?(?:0|[1-9](?:_?[0-9])*)", "-+0123456789"),
    ("int", r"[-+]?0(?:[xX](?:_?[0-9a-fA-F])+|[oO](?:_?[0-7])+|[bB](?:_?[01])+)", "-+0"),
    (
        "float",
        rf"[-+]?(?:(?:{_DIGITS}\.(?:{_DIGITS})?|\.{_DIGITS})(?:[eE][-+]?[0-9]+)?"
        rf"|{_DIGITS}[eE][-+]?[0-9]+)",
        "-+.0123456789",
    ),
    ("float", r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)", "-+."),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("merge", r"<<", "<"),
]
for _name, _pattern, _first in _SCALARS:
    _StrictLoader.add_implicit_resolver(_TAG + _name, re.compile(f"^(?:{_pattern})$"), _first)


def _int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    return int(loader.construct_scalar(node), 0)  # the resolver's forms are Python's


def _float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node))
    special = text.lower().lstrip("+")
    if special in (".inf", "-.inf", ".nan"):
        return float(special.replace(".", ""))
    return float(text)


def _merge_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))  # ``<<`` other than as a key is text


_StrictLoader.add_constructor(_TAG + "int", _int)
_StrictLoader.add_constructor(_TAG + "float", _float)
_StrictLoader.add_constructor(_MERGE, _merge_text)

_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")
_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n"}


def yaml11_hint(value: Any, *, boolean: bool = False) -> str | None:
    """Why a text value that YAML 1.1 reads as a number (or, for a ``boolean`` field, as
    a boolean) is not one here."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _SEXAGESIMAL.fullmatch(text):
        return (
            f"{text} is not a number here (YAML 1.1 reads it in base 60); write a number "
            "or a duration with a unit, such as 90s, 90m or 1.5h"
        )
    if _LEADING_ZERO.fullmatch(text):
        digits = text.replace("_", "").lstrip("+-")
        octal = (
            f", or 0o{digits.lstrip('0') or '0'} for octal"
            if set(digits) <= set("01234567")
            else ""
        )
        return (
            f"{text} is not a number here (YAML 1.1 reads a leading 0 as octal); write "
            f"{int(digits)} without the 0{octal}"
        )
    if boolean and text.lower() in _YAML11_BOOLS:
        return f"{text!r} is text here (YAML 1.1 reads it as a boolean); write true or false"
    return None


def read_value(text: str) -> Any:
    """One value as a scenario file would read it (``--set KEY=VALUE``)."""
    return yaml.load(text, Loader=_StrictLoader)


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting every string that a YAML 1.1 reader or this loader
    would read as something else: ``1e3`` and ``0o17`` are numbers here, not in YAML 1.1."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, re.Pattern[str]]]]] = {
        first: list(found) for first, found in yaml.SafeDumper.yaml_implicit_resolvers.items()
    }


for _name, _pattern, _first in _SCALARS:
    _Dumper.add_implicit_resolver(_TAG + _name, re.compile(f"^(?:{_pattern})$"), _first)


def write_document(document: dict[str, Any]) -> str:
    """A scenario document as YAML that reads back to the same document, here and in
    any YAML 1.1 or 1.2 reader (``scenario.resolved.yaml``)."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False)


def read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a YAML scenario file into a mapping (safe loader: no object construction)."""
    source = str(path)
    try:
        raw = read_bounded(path, MAX_FILE_BYTES, "scenario file")
    except InputFileError as exc:
        raise ScenarioError(str(exc), source=source) from None
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
        raise ScenarioError(
            f"invalid YAML: {where}{problem}{_hint(problem)}", source=source
        ) from None
    except RecursionError:
        raise ScenarioError("invalid YAML: nested too deeply", source=source) from None
    except (ValueError, TypeError) as exc:  # a constructor's own check, e.g. a huge integer
        problem = (
            "a number has too many digits"
            if "integer string conversion" in str(exc)
            else str(exc).splitlines()[0]
        )
        raise ScenarioError(f"invalid YAML: {problem}", source=source) from None
    if document is None:
        raise ScenarioError("is empty; a scenario is a YAML mapping", source=source)
    if not isinstance(document, dict):
        raise ScenarioError(
            f"must be a YAML mapping of keys, not a {type(document).__name__}", source=source
        )
    return document


def _hint(problem: str) -> str:
    """What a YAML parser's complaint usually means in a hand-written scenario."""
    if "'\\t'" in problem or "\t" in problem:
        return " (hint: YAML indents with spaces, not tabs)"
    if "mapping values are not allowed" in problem or "expected <block end>" in problem:
        return (
            " (hint: check the indentation here and on the line above: keys of one mapping "
            "start in the same column, list items under their key)"
        )
    if "could not find expected ':'" in problem:
        return " (hint: a key needs a colon and a space after it, as in 'name: web')"
    return ""


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
    elif isinstance(source, str | os.PathLike):
        name = str(source)
        document = read_document(source)
        base = base or Path(source).resolve().parent
    else:
        raise ScenarioError(
            "a scenario is a mapping, a Scenario or the path of a scenario file, "
            f"not a {type(source).__name__}"
        )
    try:
        with collector_paused():  # 100,000 timeline actions are 100,000 models
            return _validated(document, base)
    except ScenarioError as exc:
        raise exc.with_source(name) if name else exc from None


def _validated(document: dict[str, Any], base: Path | None) -> Scenario:
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as exc:
        raise _translate(exc, document) from None
    except RecursionError:
        raise ScenarioError("nested too deeply to be a scenario") from None
    return resolve(scenario, base)


# --- pydantic errors, reworded --------------------------------------------------------


def _models_of(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation such as ``list[X] | None`` or a union."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_of(typing.get_args(annotation)[0])
    if origin in (list, typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_of(arg)]
    return []


def _keys(model: type[BaseModel]) -> dict[str, Any]:
    """A model's fields by the key written in files (the alias where there is one)."""
    return {field.alias or name: field for name, field in model.model_fields.items()}


def _tagged(models: list[type[BaseModel]], part: Any) -> type[BaseModel] | None:
    """The member of a discriminated union whose tag is ``part`` (pydantic puts the tag
    in error locations: ``lifetime.fixed.value`` for the file's ``lifetime.value``)."""
    for model in models:
        for field in model.model_fields.values():
            if typing.get_origin(field.annotation) is Literal and part in typing.get_args(
                field.annotation
            ):
                return model
    return None


def _walk(loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], type[BaseModel] | None, Any]:
    """``loc`` as the file spells it, the model its last key belongs to, and that field."""
    models: list[type[BaseModel]] = [Scenario]
    out: list[Any] = []
    owner: type[BaseModel] | None = None
    field: Any = None
    for part in loc:
        if isinstance(part, int):
            out.append(part)
            continue
        model = models[0] if len(models) == 1 else None
        if model is None and len(models) > 1 and (member := _tagged(models, part)):
            models = [member]  # a union tag: not a key of the file
            continue
        owner = model
        field = _keys(model).get(part) if model is not None else None
        out.append(part)
        models = _models_of(field.annotation) if field is not None else []
    return tuple(out), owner, field


def _is_duration(field: Any) -> bool:
    """Whether the field holds a duration (its value is checked after the conversion)."""
    return any(
        getattr(meta, "func", None) is format_duration for meta in getattr(field, "metadata", [])
    )


def _bounds(field: Any) -> tuple[Any, Any]:
    low = high = None
    for meta in getattr(field, "metadata", []):
        low = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else low
        high = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else high
    return low, high


def _named(loc: tuple[Any, ...], document: Any) -> tuple[Any, ...]:
    """``loc`` with list items named where they have a name (see :func:`item_keys`)."""
    out: list[Any] = []
    node = document
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            out.append(item_keys(node)[part])
            node = node[part]
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return tuple(out)


def _translate(exc: ValidationError, document: Any = None) -> ScenarioError:
    errors = exc.errors(include_url=False)
    # A misspelt key shows up twice: unknown, and the real key missing. Say the first.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    found = _reworded(error, document)
    hint = yaml11_hint(found.value, boolean=error["type"] in ("bool_type", "bool_parsing"))
    if hint is None or error["type"] in ("extra_forbidden", "invalid_key", "missing"):
        return found
    return ScenarioError(f"{found.message}; {hint}", path=found.path, value=found.value)


def _reworded(error: Any, document: Any) -> ScenarioError:
    kind = error["type"]
    raw = tuple(error["loc"])
    if kind == "invalid_key" or (kind == "extra_forbidden" and raw[-1] == ""):
        # A key that is empty or not text: name the mapping that holds it.
        loc, owner, _ = _walk((*raw[:-1], ""))
        allowed = ", ".join(_keys(owner)) if owner else "none"
        # pydantic writes a null key (``~: 1``, ``? : 1``) as 'None' in the location.
        empty = raw[-1] in (None, "") or (kind == "invalid_key" and raw[-1] == "None")
        what = "an empty key" if empty else f"the key {raw[-1]!r} (not text)"
        return ScenarioError(
            f"{what} is not allowed here; allowed: {allowed}",
            path=format_path(_named(loc[:-1], document)),
        )
    loc, owner, field = _walk(raw)
    value = error.get("input")
    path = format_path(_named(loc, document))
    if isinstance(value, float) and math.isfinite(value) and _is_duration(field):
        value = format_duration(value)  # as a file spells it: '0s', not the seconds 0.0
    if kind == "extra_forbidden":
        allowed = list(_keys(owner)) if owner else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
        return ScenarioError(f"unknown key; {hint}", path=path)
    if kind == "missing":
        return ScenarioError("is required", path=path)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        # A discriminated union (a lifetime's distribution): name the tag key itself.
        key = str(error["ctx"]["discriminator"]).strip("'")
        members = _models_of(field.annotation) if field is not None else []
        expected = ", ".join(repr(tag) for m in members for tag in _tags(m, key))
        if kind == "union_tag_not_found":
            return ScenarioError(f"is required: one of {expected}", path=f"{path}.{key}")
        tag = value.get(key) if isinstance(value, dict) else value
        return ScenarioError(f"must be one of {expected}", path=f"{path}.{key}", value=tag)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return ScenarioError("must be a mapping of keys", path=path, value=value)
    if kind in ("greater_than_equal", "less_than_equal"):
        low, high = _bounds(field)
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


def _tags(model: type[BaseModel], key: str) -> tuple[Any, ...]:
    field = model.model_fields.get(key)
    return typing.get_args(field.annotation) if field is not None else ()
