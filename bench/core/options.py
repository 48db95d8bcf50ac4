"""Typed option dataclasses: declared once, validated the same way everywhere.

The run config, every task and every architecture declare their knobs as dataclass fields made
with :func:`option`. One declaration then gives the default, the type check, the bounds, the
``--help`` text and the line in ``bench list``: nothing about an option is written twice.
Values arrive as YAML scalars or command-line strings; :func:`build` coerces and checks them and
raises :class:`~bench.core.errors.UsageError` with a sentence a user can act on.
"""
from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import yaml

from bench.core.errors import UsageError

T = TypeVar("T")
_MISSING = dataclasses.MISSING


def option(
    default: Any,
    help: str,
    *,
    min: float | None = None,
    max: float | None = None,
    above: float | None = None,
    below: float | None = None,
) -> Any:
    """A dataclass field with a help text and optional bounds (inclusive min/max, strict above/below)."""
    metadata = {"help": help, "min": min, "max": max, "above": above, "below": below}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class NoOptions:
    """For a task or architecture without options of its own."""


def options_parameter(cls: type) -> type | None:
    """The options dataclass a plugin class names as its base's type argument, or None.

    ``class Parity(SyntheticTask[ParityOptions])`` both types ``self.options`` for mypy and, through
    this, sets ``Parity.Options`` (what config resolution, ``bench list`` and ``--opt`` read), so the
    dataclass is named once. A base parameterised by a type variable gives that variable's default.
    """
    if "Options" in cls.__dict__:
        return None
    for base in cls.__dict__.get("__orig_bases__", ()):
        for argument in typing.get_args(base)[:1]:
            chosen = getattr(argument, "__default__", argument)
            if isinstance(chosen, type) and chosen is not object:
                return chosen
    return None


class YamlLoader(yaml.SafeLoader):
    """YAML with 1.2 booleans: only true/false are booleans, so ``--compile on`` stays the string 'on'
    (YAML 1.1 also reads on/off/yes/no as booleans)."""


YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml_text(text: str) -> object:
    """Parse YAML text with :class:`YamlLoader`."""
    return yaml.load(text, Loader=YamlLoader)  # noqa: S506 - a SafeLoader subclass


def parse_scalar(text: str) -> object:
    """Read a command-line value the way YAML would (``8`` → int, ``1e-3`` → float, ``[8, 16]`` → list)."""
    try:
        value = load_yaml_text(text)
    except yaml.YAMLError:
        return text
    # YAML 1.1 reads "1e-3" as a string; a user means a float.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _type_name(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin in (tuple, list):
        return f"list of {_type_name(typing.get_args(annotation)[0])}"
    return getattr(annotation, "__name__", str(annotation))


def coerce(value: object, annotation: object, where: str) -> object:
    """Return ``value`` as ``annotation`` or raise a UsageError naming ``where``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    problem = f"{where} must be {_type_name(annotation)}, got {value!r}"
    if origin is Literal:
        if value in args:
            return value
        close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(problem + hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, where)
            except UsageError:
                pass
        raise UsageError(problem)
    if origin in (tuple, list):
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise UsageError(problem)
        return tuple(coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or annotation is dict:
        if isinstance(value, Mapping):
            return dict(value)
        raise UsageError(problem)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise UsageError(problem + " (use true or false)")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        raise UsageError(problem)
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
            if value != value or value in (float("inf"), float("-inf")):
                raise UsageError(f"{where} must be a finite number, got {value!r}")
            return value
        raise UsageError(problem)
    if annotation is str:
        if isinstance(value, str):
            return value
        raise UsageError(problem)
    if annotation is Any:
        return value
    raise TypeError(f"unsupported option type {annotation!r} for {where}")


def _check_bounds(value: Any, meta: Mapping[str, Any], where: str) -> None:
    values = value if isinstance(value, tuple) else (value,)
    for v in values:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        if meta.get("min") is not None and v < meta["min"]:
            raise UsageError(f"{where} must be >= {meta['min']}, got {v}")
        if meta.get("max") is not None and v > meta["max"]:
            raise UsageError(f"{where} must be <= {meta['max']}, got {v}")
        if meta.get("above") is not None and v <= meta["above"]:
            raise UsageError(f"{where} must be > {meta['above']}, got {v}")
        if meta.get("below") is not None and v >= meta["below"]:
            raise UsageError(f"{where} must be < {meta['below']}, got {v}")


def fields_of(cls: type) -> list[tuple[dataclasses.Field[object], object]]:
    """The dataclass fields of ``cls`` with their resolved type annotations."""
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls) if f.init]


def default_of(f: dataclasses.Field[object]) -> object:
    if f.default is not _MISSING:
        return f.default
    if f.default_factory is not _MISSING:
        return f.default_factory()
    return _MISSING


def build(cls: type[T], values: Mapping[str, object], where: str) -> T:
    """Build ``cls`` from ``values``, checking names, types and bounds; defaults fill the rest.

    ``where`` names the section in messages, e.g. ``"task option"`` → "task option 'length' ...".
    (A plugin's ``Options.check()``, for combinations and data files, is a step of its own in
    :func:`bench.core.resolve.resolve`.)
    """
    known = {f.name: (f, ann) for f, ann in fields_of(cls)}
    unknown = [k for k in values if k not in known]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), list(known), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"valid: {', '.join(known) or 'none'}"
        raise UsageError(f"unknown {where} {key!r} ({hint})")
    kwargs = {}
    for name, (f, ann) in known.items():
        label = f"{where} {name!r}"
        if name in values:
            value = coerce(values[name], ann, label)
        else:
            value = default_of(f)
        _check_bounds(value, f.metadata, label)
        kwargs[name] = value
    return cls(**kwargs)


def describe(cls: type) -> list[tuple[str, str, object, str]]:
    """``(name, type, default, help)`` for each option of ``cls``: what ``--help`` and ``bench list`` print."""
    rows = []
    for f, ann in fields_of(cls):
        rows.append((f.name, _type_name(ann), default_of(f), f.metadata.get("help", "")))
    return rows


def as_dict(instance: object) -> dict[str, object]:
    """Plain values (tuples as lists) so that the result dumps to YAML and logs to MLflow cleanly."""
    if not dataclasses.is_dataclass(instance) or isinstance(instance, type):
        raise TypeError(f"as_dict needs a dataclass instance, got {instance!r}")
    out = {}
    for f in dataclasses.fields(instance):
        value = getattr(instance, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out
