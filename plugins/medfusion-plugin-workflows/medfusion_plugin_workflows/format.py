"""The ``.medfusion`` workflow file: JSON with a ``schema_version``, nodes (kind, parameters, editor
position) and edges from a node's output to another node's input.

:func:`load_workflow` reads a file, a JSON string or a dict and checks its shape against
:data:`WORKFLOW_SCHEMA` (one-line :class:`~.errors.WorkflowError` naming the field);
:func:`dump_workflow` writes the canonical text (sorted keys, two-space indent, final newline),
so that loading and dumping a dumped file gives the same bytes. What the nodes mean (kinds,
types, cycles) is checked by :mod:`medfusion_plugin_workflows.validation`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from medfusion_plugin_workflows.errors import WorkflowError

#: The format version this package reads and writes.
SCHEMA_VERSION = 1
#: File suffix of workflow files.
SUFFIX = ".medfusion"

_ID = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_-]*$"}

#: JSON Schema of a ``.medfusion`` file (also in ``docs/workflow.schema.json``).
WORKFLOW_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://medfusion.dev/workflow.schema.json",
    "title": "MedFusion workflow (.medfusion)",
    "type": "object",
    "required": ["schema_version", "name", "nodes", "edges"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "nodes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "kind"],
                "additionalProperties": False,
                "properties": {
                    "id": _ID,
                    "kind": {"type": "string", "minLength": 1},
                    "params": {"type": "object"},
                    "position": {
                        "type": "object",
                        "required": ["x", "y"],
                        "additionalProperties": False,
                        "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                    },
                },
            },
        },
        "edges": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["source", "source_output", "target", "target_input"],
                "additionalProperties": False,
                "properties": {
                    "source": _ID,
                    "source_output": {"type": "string"},
                    "target": _ID,
                    "target_input": {"type": "string"},
                },
            },
        },
    },
}


@attrs.frozen
class NodeDef:
    """One node of a workflow: its id, kind (a ``node`` component name), parameters and position."""

    id: str
    kind: str
    params: dict[str, Any] = attrs.field(factory=dict)
    position: tuple[float, float] = (0.0, 0.0)

    def to_json(self) -> dict[str, Any]:
        """The node as written in a ``.medfusion`` file."""
        x, y = self.position
        return {"id": self.id, "kind": self.kind, "params": self.params, "position": {"x": x, "y": y}}


@attrs.frozen
class Edge:
    """An edge: ``source``'s output ``source_output`` feeds ``target``'s input ``target_input``."""

    source: str
    source_output: str
    target: str
    target_input: str

    def to_json(self) -> dict[str, str]:
        """The edge as written in a ``.medfusion`` file."""
        return attrs.asdict(self)


@attrs.frozen
class Workflow:
    """A parsed workflow file."""

    name: str
    nodes: tuple[NodeDef, ...]
    edges: tuple[Edge, ...]
    description: str = ""

    def node(self, node_id: str) -> NodeDef:
        """The node called ``node_id`` (:class:`KeyError` when there is none)."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def to_json(self) -> dict[str, Any]:
        """The workflow as a ``.medfusion`` document."""
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "name": self.name}
        if self.description:
            out["description"] = self.description
        out["nodes"] = [node.to_json() for node in self.nodes]
        out["edges"] = [edge.to_json() for edge in self.edges]
        return out


def _type_ok(schema: Mapping[str, Any], value: Any) -> bool:
    kind = schema.get("type")
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    }
    return kind is None or checks[kind](value)


def _check(schema: Mapping[str, Any], value: Any, where: str) -> None:
    """Check ``value`` against the subset of JSON Schema that :data:`WORKFLOW_SCHEMA` uses."""
    if "const" in schema and value != schema["const"]:
        raise WorkflowError(f"{where}: must be {schema['const']!r}, got {value!r}")
    if not _type_ok(schema, value):
        raise WorkflowError(f"{where}: must be a JSON {schema['type']}, got {type(value).__name__}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            raise WorkflowError(f"{where}: must not be empty")
        if "pattern" in schema and not _matches_id(value):
            raise WorkflowError(f"{where}: {value!r} must be letters, digits, '_' or '-' (not first)")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                raise WorkflowError(f"{where}: missing field {key!r}")
        known = schema.get("properties", {})
        for key, item in value.items():
            if key not in known and schema.get("additionalProperties") is False:
                raise WorkflowError(f"{where}: unknown field {key!r} (known: {', '.join(known)})")
            if key in known:
                _check(known[key], item, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check(schema["items"], item, f"{where}[{index}]")


def _matches_id(value: str) -> bool:
    return (
        bool(value)
        and (value[0].isalpha() or value[0] == "_")
        and all(char.isalnum() or char in "_-" for char in value)
    )


def _parse(document: Mapping[str, Any], origin: str) -> Workflow:
    _check(WORKFLOW_SCHEMA, dict(document), origin)
    nodes = tuple(
        NodeDef(
            node["id"],
            node["kind"],
            dict(node.get("params", {})),
            (node.get("position", {}).get("x", 0.0), node.get("position", {}).get("y", 0.0)),
        )
        for node in document["nodes"]
    )
    edges = tuple(Edge(**edge) for edge in document["edges"])
    return Workflow(document["name"], nodes, edges, document.get("description", ""))


def load_workflow(source: Path | str | Mapping[str, Any]) -> Workflow:
    """A workflow from a ``.medfusion`` file path, a JSON string or a parsed dict; a file that is
    not JSON or not a workflow is a one-line :class:`~.errors.WorkflowError` naming it."""
    if isinstance(source, Mapping):
        return _parse(source, "workflow")
    text, origin = str(source), "workflow"
    if isinstance(source, Path) or not text.lstrip().startswith("{"):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise WorkflowError(f"{path}: cannot read the workflow file ({exc.strerror or exc})") from None
        origin = str(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkflowError(
            f"{origin}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(document, dict):
        raise WorkflowError(f"{origin}: a workflow is a JSON object")
    return _parse(document, origin)


def dump_workflow(workflow: Workflow) -> str:
    """The canonical ``.medfusion`` text of ``workflow`` (byte-stable: sorted keys, 2-space indent)."""
    return json.dumps(workflow.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
