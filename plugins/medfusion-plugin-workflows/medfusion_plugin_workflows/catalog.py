"""The node kinds an editor can place: every registered ``node`` component with its ports and the
JSON Schema of its parameters."""

from __future__ import annotations

from typing import Any

from medfusion_core.errors import MedFusionError
from medfusion_core.kinds.node import Node, check_node, params_schema
from medfusion_core.registry import get_registry
from medfusion_plugin_workflows.errors import WorkflowError


def load_node(kind: str) -> Node:
    """The node object of kind ``kind`` (a ``node`` component name), checked for conformance;
    an unknown kind or a broken node is a one-line :class:`~.errors.WorkflowError`."""
    try:
        node = get_registry().create("node", kind)
    except MedFusionError as exc:
        raise WorkflowError(str(exc).splitlines()[0]) from None
    try:
        check_node(node)
    except AssertionError as exc:
        raise WorkflowError(f"node kind {kind!r} is broken: {exc}") from None
    return node


def node_kinds() -> list[dict[str, Any]]:
    """One entry per node kind, sorted by name: ``{"name", "summary", "plugin", "category",
    "inputs", "outputs", "optional", "params_schema"}``."""
    out = []
    for spec in get_registry().specs("node"):
        node = load_node(f"{spec.plugin}:{spec.name}" if spec.plugin else spec.name)
        out.append(
            {
                "name": spec.name,
                "summary": spec.summary,
                "plugin": spec.plugin,
                "category": getattr(spec.info, "category", ""),
                "inputs": dict(node.inputs),
                "outputs": dict(node.outputs),
                "optional": sorted(node.optional),
                "params_schema": params_schema(node.params),
            }
        )
    return out
