"""The ``node`` kind: one step of a workflow (``medfusion workflow run``), contributed by plugins.

A node declares its typed ``inputs`` and ``outputs`` (``{name: type}``; a type is a short word
such as ``dataset``, ``run`` or ``model``; ``any`` matches every type; an input typed ``T[]``
takes any number of edges of type ``T`` or ``T[]`` and receives a list) and its parameters as an
attrs class, from which :func:`params_schema` generates the JSON Schema that editors turn into
forms and :func:`parse_params` checks a workflow file's values. ``run(inputs, params, context)``
does the step and returns its outputs (JSON values: the engine persists and caches them).

Nothing here imports torch or numpy.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import attrs

from medfusion_core.kinds.base import Info, Kind, hookspec

if TYPE_CHECKING:
    from medfusion_core.specs import ComponentSpec

#: The input/output type that matches every other type.
ANY = "any"
#: Suffix of an input type that takes several edges (their values arrive as a list).
MANY = "[]"

_JSON_TYPES: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


@hookspec
def medfusion_register_nodes() -> list[ComponentSpec] | None:
    """Register workflow nodes (steps that ``medfusion workflow run`` chains).

    Factory signature: ``factory()`` returning an object with ``inputs: Mapping[str, str]`` and
    ``outputs: Mapping[str, str]`` (port name to type name; ``any`` matches every type; an input
    typed ``T[]`` takes several edges and receives a list), ``optional: frozenset[str]`` (inputs
    that may stay unconnected), ``params: type`` (an attrs class whose fields are str, int,
    float, bool, a ``Literal`` of strings, a list of str or an optional of these, each with a
    default unless required; ``metadata={"help": ...}`` describes a field) and
    ``run(inputs, params, context) -> Mapping[str, Any]`` (types in
    ``medfusion_core.kinds.node``). ``context`` gives the node's work folder, the runs folder,
    the tracking store URL, ``log(line)``, ``cancelled()``, ``call(argv)``, which runs a
    command in a child process that a cancel terminates, and ``record_dataset``,
    ``record_checkpoint`` and ``record_model``, which keep what the node made or used in the
    workflow tables (linked to the execution and the node attempt). Outputs must be JSON values; a node
    whose inputs and parameters are unchanged is not run again (its outputs are cached).
    """


@runtime_checkable
class NodeContext(Protocol):
    """What a node sees of the execution it runs in (the engine provides it)."""

    @property
    def work_dir(self) -> Path:
        """A folder of this node's own in this execution (created)."""

    @property
    def runs_dir(self) -> Path:
        """The runs folder where trainings write their run folders."""

    @property
    def tracking_url(self) -> str:
        """URL of the tracking store (the same database as the workflow tables)."""

    def log(self, line: str) -> None:
        """Record one line of progress (persisted as an event of the execution)."""

    def cancelled(self) -> bool:
        """Whether the execution was cancelled (a long step should stop when it is)."""

    def call(self, argv: Sequence[str]) -> str:
        """Run ``argv`` in a child process (terminated on cancel) and return its standard output;
        a non-zero exit raises with the last line of its error output."""

    def record_dataset(
        self,
        *,
        name: str,
        fingerprint: str,
        manifest: str,
        config: str | None = None,
        patients: int | None = None,
    ) -> None:
        """Record a dataset this node read or wrote, with its fingerprint (``workflow_datasets``)."""

    def record_checkpoint(
        self,
        *,
        path: Path,
        variant: str,
        role: str,
        run_id: str | None = None,
        epoch: int | None = None,
        monitor: str | None = None,
        value: float | None = None,
    ) -> None:
        """Record a checkpoint file a training wrote (``role``: ``best`` or ``last``); its size and
        sha256 are taken from the file (``workflow_checkpoints``)."""

    def record_model(
        self,
        *,
        name: str,
        version: int,
        alias: str | None = None,
        run_id: str | None = None,
        variant: str | None = None,
    ) -> None:
        """Record a model version this node registered or pointed an alias at (``workflow_models``)."""


@runtime_checkable
class Node(Protocol):
    """A workflow node: what ``factory()`` of a ``node`` spec returns."""

    inputs: Mapping[str, str]
    outputs: Mapping[str, str]
    optional: frozenset[str]
    params: type

    def run(self, inputs: Mapping[str, Any], params: Any, context: NodeContext) -> Mapping[str, Any]:
        """Do the step with ``inputs`` (by input name) and ``params`` (an instance of ``params``)."""


@attrs.frozen
class NodeInfo(Info):
    """Metadata of a node spec.

    Attributes:
        category: where an editor's palette lists the node (``data``, ``training``, ...).
    """

    category: str = ""


def accepts(input_type: str, output_type: str) -> bool:
    """Whether an edge from an output of ``output_type`` may feed an input of ``input_type``."""
    base = input_type.removesuffix(MANY)
    given = output_type.removesuffix(MANY) if input_type.endswith(MANY) else output_type
    return ANY in (base, given) or base == given


def _field_schema(annotation: Any, name: str) -> dict[str, Any]:
    """JSON Schema of one parameter type; :class:`TypeError` for a type forms cannot show."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(options) != 1:
            raise TypeError(f"parameter {name!r}: only 'X | None' unions are supported")
        return {"anyOf": [_field_schema(options[0], name), {"type": "null"}]}
    if origin is Literal:
        values = list(typing.get_args(annotation))
        if not all(isinstance(value, str) for value in values):
            raise TypeError(f"parameter {name!r}: Literal values must be strings")
        return {"type": "string", "enum": values}
    if origin is list:
        (item,) = typing.get_args(annotation) or (str,)
        return {"type": "array", "items": _field_schema(item, name)}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"type": "string", "enum": [str(member.value) for member in annotation]}
    if annotation in _JSON_TYPES:
        return {"type": _JSON_TYPES[annotation]}
    raise TypeError(f"parameter {name!r}: type {annotation!r} is not str, int, float, bool, Literal or list")


def _hints(params: type) -> dict[str, Any]:
    if not attrs.has(params):
        raise TypeError(f"{getattr(params, '__name__', params)!r} is not an attrs class")
    return typing.get_type_hints(params)


def params_schema(params: type) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the attrs class ``params``: one property per field with
    its type, default and help text; fields without a default are required."""
    hints = _hints(params)
    properties: dict[str, Any] = {}
    required = []
    for field in attrs.fields(params):
        schema = _field_schema(hints[field.name], field.name)
        if field.default is attrs.NOTHING:
            required.append(field.name)
        else:
            default = field.default.factory() if isinstance(field.default, attrs.Factory) else field.default
            schema["default"] = default.value if isinstance(default, enum.Enum) else default
        if field.metadata.get("help"):
            schema["description"] = str(field.metadata["help"])
        properties[field.name] = schema
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _matches(schema: Mapping[str, Any], value: Any) -> bool:
    if "anyOf" in schema:
        return any(_matches(option, value) for option in schema["anyOf"])
    kind = schema["type"]
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list) and all(_matches(schema["items"], item) for item in value)
    return isinstance(value, str) and ("enum" not in schema or value in schema["enum"])


def _describe(schema: Mapping[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_describe(option) for option in schema["anyOf"])
    if "enum" in schema:
        return "one of " + ", ".join(schema["enum"])
    if schema["type"] == "array":
        return f"a list of {_describe(schema['items'])}"
    return {"null": "null"}.get(schema["type"], f"a {schema['type']}")


def param_errors(params: type, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(field, message)`` for every value of ``values`` that the attrs class ``params`` refuses:
    unknown fields, missing required ones and values of the wrong JSON type."""
    schema = params_schema(params)
    errors = [(key, "unknown parameter") for key in values if key not in schema["properties"]]
    errors += [(key, "required parameter missing") for key in schema.get("required", []) if key not in values]
    for key, value in values.items():
        field = schema["properties"].get(key)
        if field is not None and not _matches(field, value):
            errors.append((key, f"{value!r} is not {_describe(field)}"))
    return errors


def parse_params(params: type, values: Mapping[str, Any]) -> Any:
    """An instance of the attrs class ``params`` from JSON ``values``; :class:`ValueError` with one
    line naming the first bad field."""
    errors = param_errors(params, values)
    if errors:
        field, message = errors[0]
        raise ValueError(f"parameter {field!r}: {message}")
    return params(**values)


def check_node(node: Any) -> None:
    """Conformance check: ``node`` implements :class:`Node`, its ports map names to type names,
    ``optional`` names inputs, and the JSON Schema of its parameters can be generated (so that
    its defaults build a parameter object when no field is required).

    Raises ``AssertionError`` naming what is wrong.
    """
    name = type(node).__name__
    if not isinstance(node, Node):
        raise AssertionError(f"{name}: a node needs inputs, outputs, optional, params and run()")
    for port in ("inputs", "outputs"):
        mapping = getattr(node, port)
        if not isinstance(mapping, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str) and value for key, value in mapping.items()
        ):
            raise AssertionError(f"{name}.{port} must map port names to type names")
    unknown = set(node.optional) - set(node.inputs)
    if unknown:
        raise AssertionError(f"{name}.optional names no input: {', '.join(sorted(unknown))}")
    try:
        schema = params_schema(node.params)
    except TypeError as exc:
        raise AssertionError(f"{name}.params: {exc}") from exc
    if not schema.get("required"):
        parse_params(node.params, {})


KIND = Kind("node", medfusion_register_nodes, NodeInfo, Node)
