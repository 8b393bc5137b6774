"""The node kind: its hookspec, the JSON Schema of node parameters and the conformance check."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import attrs
import pluggy
import pytest

from medfusion_core import kinds
from medfusion_core.kinds.node import accepts, check_node, param_errors, params_schema, parse_params


@attrs.frozen
class Params:
    """Parameters of the test node."""

    name: str
    epochs: int = attrs.field(default=1, metadata={"help": "training epochs"})
    rate: float = 0.5
    mode: Literal["all", "fused"] = "all"
    tags: list[str] = attrs.field(factory=list)
    seed: int | None = None


class Good:
    """A conforming node."""

    inputs: ClassVar = {"dataset": "dataset", "runs": "run[]"}
    outputs: ClassVar = {"run": "run"}
    optional = frozenset({"runs"})
    params = Params

    def run(self, inputs: Any, params: Any, context: Any) -> dict[str, Any]:
        return {"run": params.name}


def test_node_kind_is_declared_last_with_its_hook() -> None:
    assert kinds.NAMES[-1] == "node"
    assert kinds.get("node").hook == "medfusion_register_nodes"
    manager = pluggy.PluginManager(kinds.PROJECT)
    kinds.add_hookspecs(manager)
    assert manager.hook.medfusion_register_nodes.spec is not None


def test_params_schema_lists_types_defaults_help_and_required() -> None:
    schema = params_schema(Params)
    assert schema["required"] == ["name"]
    props = schema["properties"]
    assert props["epochs"] == {"type": "integer", "default": 1, "description": "training epochs"}
    assert props["mode"] == {"type": "string", "enum": ["all", "fused"], "default": "all"}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "default": []}
    assert props["seed"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
    assert schema["additionalProperties"] is False


def test_param_errors_name_the_field() -> None:
    assert param_errors(Params, {"name": "x", "epochs": 2, "seed": None}) == []
    errors = dict(param_errors(Params, {"epochs": "two", "mode": "half", "colour": 1}))
    assert errors == {
        "colour": "unknown parameter",
        "name": "required parameter missing",
        "epochs": "'two' is not a integer",
        "mode": "'half' is not one of all, fused",
    }
    assert parse_params(Params, {"name": "x", "rate": 1}).rate == 1
    with pytest.raises(ValueError, match="parameter 'rate': True is not a number"):
        parse_params(Params, {"name": "x", "rate": True})


def test_edge_types() -> None:
    assert accepts("run", "run") and accepts("any", "model") and accepts("run[]", "run")
    assert accepts("run[]", "run[]") and not accepts("run", "model") and not accepts("model[]", "run")


def test_check_node_accepts_a_node_and_names_what_is_wrong() -> None:
    check_node(Good())

    class BadPorts(Good):
        outputs: ClassVar = {"run": 3}

    class BadOptional(Good):
        optional = frozenset({"nope"})

    class BadParams(Good):
        params = dict

    class NoRun:
        inputs: ClassVar = {}
        outputs: ClassVar = {}

    for node, message in (
        (BadPorts(), "outputs must map"),
        (BadOptional(), "optional names no input: nope"),
        (BadParams(), "not an attrs class"),
        (NoRun(), "a node needs"),
    ):
        with pytest.raises(AssertionError, match=message):
            check_node(node)
