"""Registers the first-party workflow nodes and the ``workflow`` command (import strings only)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, hookimpl
from medfusion_core.kinds.node import NodeInfo

_NODES = "medfusion_plugin_workflows.nodes"


def _node(name: str, target: str, category: str, summary: str) -> ComponentSpec:
    return ComponentSpec(name, "node", f"{_NODES}.{target}", summary, info=NodeInfo(category))


@hookimpl
def medfusion_register_nodes() -> list[ComponentSpec]:
    """dataset, split, kfold, train, evaluate, compare, register, alias, model, export, predict."""
    return [
        _node(
            "dataset",
            "data:DatasetNode",
            "data",
            "A manifest and its config (or the demo data), checked and fingerprinted.",
        ),
        _node("split", "data:SplitNode", "data", "Patient-level train/validation/test fractions."),
        _node(
            "kfold", "data:KFoldNode", "data", "Patient-level k-fold cross-validation: one dataset per fold."
        ),
        _node(
            "train",
            "training:TrainNode",
            "training",
            "Train the fused model, a baseline or all three, per dataset.",
        ),
        _node("evaluate", "training:EvaluateNode", "evaluation", "The evaluation report of each run."),
        _node(
            "compare",
            "training:CompareNode",
            "evaluation",
            "Compare runs (DeLong, McNemar) and pick the champion.",
        ),
        _node(
            "register",
            "models:RegisterNode",
            "models",
            "Register a run's variant or the champion as a model version.",
        ),
        _node(
            "alias",
            "models:AliasNode",
            "models",
            "Point an alias (champion, production) at the model version.",
        ),
        _node("model", "models:ModelNode", "models", "A registered model by reference (NAME@alias, NAME/N)."),
        _node(
            "export", "models:ExportNode", "models", "Export to ONNX or pt2 with its preprocessing, verified."
        ),
        _node("predict", "models:PredictNode", "models", "Score a manifest with a model."),
    ]


@hookimpl
def medfusion_register_commands() -> list[ComponentSpec]:
    """``medfusion workflow run|validate|status|resume|cancel|templates|template``."""
    return [
        ComponentSpec(
            "workflow",
            "command",
            "medfusion_plugin_workflows.cli:workflow",
            "Run, validate, watch and resume .medfusion workflows (no server needed).",
        )
    ]
