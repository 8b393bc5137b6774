"""A JSON Schema of the training config, generated from the core's attrs classes (for the web
app's config builder): each attrs class an object of its fields with their defaults."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

import attrs

from medfusion_core.config import ExperimentConfig

_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _type_schema(annotation: Any) -> dict[str, Any]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}
    if attrs.has(annotation):
        return class_schema(annotation)
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        options = [_type_schema(arg) for arg in args if arg is not type(None)]
        schema = options[0] if len(options) == 1 else {"anyOf": options}
        return {"anyOf": [schema, {"type": "null"}]} if type(None) in args else schema
    if origin in (list, tuple):
        return {"type": "array", "items": _type_schema(args[0])} if args else {"type": "array"}
    if origin is dict:
        return {"type": "object"}
    return {}


def _default(field: attrs.Attribute) -> Any:
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = default.factory()  # type: ignore[union-attr]
    if attrs.has(type(default)):
        return attrs.asdict(default)
    return default


def class_schema(cls: type) -> dict[str, Any]:
    """The object schema of an attrs class: its fields, their types, defaults and the required."""
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in attrs.fields(cls):
        schema = _type_schema(hints[field.name])
        if field.default is attrs.NOTHING:
            required.append(field.name)
        else:
            schema["default"] = _default(field)
        properties[field.name] = schema
    schema = {"type": "object", "title": cls.__name__, "properties": properties}
    if cls.__doc__:
        schema["description"] = cls.__doc__.strip().splitlines()[0]
    if required:
        schema["required"] = required
    return schema


def training_config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the training config file."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **class_schema(ExperimentConfig)}
