"""Model nodes: ``register`` (a run's variant, or the champion, as a model version), ``alias``,
``model`` (a registered model by reference), ``export`` (ONNX / pt2, verified) and ``predict``."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs

from medfusion_core.kinds.node import NodeContext
from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.nodes.common import VARIANT_LABELS, medfusion


def _model_value(context: NodeContext, ref: str) -> dict[str, Any]:
    from medfusion_plugin_tracking.store import TrackingStore

    with TrackingStore(context.tracking_url) as store:
        version = store.resolve_model(ref)
        run_dir, variant = store.model_run_folder(ref)
    return {
        "ref": f"{version.model}/{version.version}",
        "name": version.model,
        "version": version.version,
        "run_dir": str(run_dir),
        "variant": variant,
    }


@attrs.frozen
class RegisterParams:
    """The model name and which variant to register."""

    name: str = attrs.field(metadata={"help": "model name (created on its first version)"})
    variant: Literal["champion", "fused", "image", "clinical"] = attrs.field(
        default="champion", metadata={"help": "'champion': the comparison's winner"}
    )


class RegisterNode:
    """Register a run's variant (or the comparison's champion) as the next model version."""

    inputs: ClassVar[Mapping[str, str]] = {"comparison": "comparison", "run": "run"}
    outputs: ClassVar[Mapping[str, str]] = {"model": "model"}
    optional: ClassVar[frozenset[str]] = frozenset({"comparison", "run"})
    params = RegisterParams

    def run(self, inputs: Mapping[str, Any], params: RegisterParams, context: NodeContext) -> dict[str, Any]:
        """``medfusion models register`` on the chosen run; the new version is recorded."""
        if params.variant == "champion":
            if "comparison" not in inputs:
                raise WorkflowError("variant 'champion' needs the comparison input connected")
            run, variant = inputs["comparison"]["champion"], inputs["comparison"]["champion"]["variant"]
        elif "run" in inputs:
            run, variant = inputs["run"], params.variant
        else:
            raise WorkflowError(f"variant {params.variant!r} needs the run input connected")
        if not run.get("run_id"):
            raise WorkflowError(f"run {run['name']}: not in the tracking store (tracking off?)")
        out = medfusion(
            context,
            "models",
            "register",
            run["run_id"],
            "--name",
            params.name,
            "--variant",
            variant,
            "--json",
        )
        version = json.loads(out)
        model = _model_value(context, f"{version['model']}/{version['version']}")
        context.record_model(
            name=model["name"], version=model["version"], run_id=run["run_id"], variant=variant
        )
        return {"model": model}


@attrs.frozen
class AliasParams:
    """The alias to point at the incoming model version."""

    alias: str = attrs.field(default="champion", metadata={"help": "e.g. champion, production"})


class AliasNode:
    """Move an alias of the model to the incoming version (``NAME@alias``)."""

    inputs: ClassVar[Mapping[str, str]] = {"model": "model"}
    outputs: ClassVar[Mapping[str, str]] = {"model": "model"}
    optional: ClassVar[frozenset[str]] = frozenset()
    params = AliasParams

    def run(self, inputs: Mapping[str, Any], params: AliasParams, context: NodeContext) -> dict[str, Any]:
        """``medfusion models alias NAME ALIAS VERSION``; the move is recorded."""
        model = inputs["model"]
        medfusion(context, "models", "alias", model["name"], params.alias, str(model["version"]))
        context.record_model(
            name=model["name"], version=model["version"], alias=params.alias, variant=model.get("variant")
        )
        return {"model": {**model, "alias": f"{model['name']}@{params.alias}"}}


@attrs.frozen
class ModelParams:
    """Which registered model."""

    ref: str = attrs.field(metadata={"help": "NAME@alias or NAME/N"})


class ModelNode:
    """A registered model version, by reference (the start of an export or prediction workflow)."""

    inputs: ClassVar[Mapping[str, str]] = {}
    outputs: ClassVar[Mapping[str, str]] = {"model": "model"}
    optional: ClassVar[frozenset[str]] = frozenset()
    params = ModelParams

    def run(self, inputs: Mapping[str, Any], params: ModelParams, context: NodeContext) -> dict[str, Any]:
        """Resolve the reference in the tracking store (the run folder and variant behind it)."""
        return {"model": _model_value(context, params.ref)}


@attrs.frozen
class ExportParams:
    """Artifact format and how many held-out patients verify it."""

    format: Literal["onnx", "pt2"] = "onnx"
    held_out: int = attrs.field(default=8, metadata={"help": "test patients compared with eager PyTorch"})


class ExportNode:
    """Export the model with its preprocessing and verify it against eager PyTorch."""

    inputs: ClassVar[Mapping[str, str]] = {"model": "model"}
    outputs: ClassVar[Mapping[str, str]] = {"artifact": "artifact"}
    optional: ClassVar[frozenset[str]] = frozenset()
    params = ExportParams

    def run(self, inputs: Mapping[str, Any], params: ExportParams, context: NodeContext) -> dict[str, Any]:
        """``medfusion export RUN --variant V --format F --out FILE``; returns the file and its
        sidecar's verification figures."""
        model = inputs["model"]
        suffix = {"onnx": "onnx", "pt2": "pt2"}[params.format]
        out = context.work_dir / f"{model['name']}.{suffix}"
        medfusion(
            context,
            "export",
            model["run_dir"],
            "--variant",
            model["variant"],
            "--format",
            params.format,
            "--out",
            str(out),
            "--held-out",
            str(params.held_out),
        )
        sidecar = json.loads(Path(f"{out}.json").read_text(encoding="utf-8"))
        return {
            "artifact": {
                "path": str(out),
                "format": params.format,
                "verification": sidecar.get("verification"),
            }
        }


@attrs.frozen
class PredictParams:
    """The manifest to score when no dataset is connected."""

    manifest: str = attrs.field(
        default="", metadata={"help": "CSV to score (default: the dataset's manifest)"}
    )


class PredictNode:
    """Score a manifest with a model (its run folder and variant)."""

    inputs: ClassVar[Mapping[str, str]] = {"model": "model", "dataset": "dataset"}
    outputs: ClassVar[Mapping[str, str]] = {"predictions": "predictions"}
    optional: ClassVar[frozenset[str]] = frozenset({"dataset"})
    params = PredictParams

    def run(self, inputs: Mapping[str, Any], params: PredictParams, context: NodeContext) -> dict[str, Any]:
        """``medfusion predict RUN MANIFEST --variant V --out predictions.csv``."""
        manifest = params.manifest or inputs.get("dataset", {}).get("manifest")
        if not manifest:
            raise WorkflowError("connect a dataset or set params.manifest")
        model = inputs["model"]
        out = context.work_dir / "predictions.csv"
        medfusion(
            context,
            "predict",
            model["run_dir"],
            str(manifest),
            "--variant",
            model["variant"],
            "--out",
            str(out),
        )
        with open(out, encoding="utf-8", newline="") as handle:
            rows = sum(1 for _ in csv.DictReader(handle))
        return {
            "predictions": {
                "path": str(out),
                "rows": rows,
                "model": model.get("ref"),
                "label": VARIANT_LABELS[model["variant"]],
            }
        }
