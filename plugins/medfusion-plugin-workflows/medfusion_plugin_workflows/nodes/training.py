"""Training and evaluation nodes: ``train`` (one variant or all, one run per dataset), ``evaluate``
(the evaluation report of each run) and ``compare`` (the tracking store's statistical comparison,
choosing the champion)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs

from medfusion_core.kinds.node import NodeContext
from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.nodes.common import (
    VARIANT_LABELS,
    config_name,
    last_line,
    medfusion,
    parse_overrides,
    write_config,
    write_output,
)

_VARIANTS = {
    "fused": ["fused"],
    "image": ["image"],
    "clinical": ["clinical"],
    "all": ["fused", "image", "clinical"],
}


def _run_value(run_dir: Path, name: str, variants: list[str]) -> dict[str, Any]:
    tracking = run_dir / "tracking.json"
    run_id = json.loads(tracking.read_text(encoding="utf-8")).get("run_id") if tracking.is_file() else None
    return {"name": name, "run_dir": str(run_dir), "run_id": run_id, "variants": variants}


def record_checkpoints(context: NodeContext, run: Mapping[str, Any]) -> None:
    """Record the best and last checkpoints of each variant of ``run``: ``epoch`` is the number
    of epochs trained when it was written, ``value`` the monitored metric of the best (both from
    the variant's ``summary.json``)."""
    for variant in run["variants"]:
        folder = Path(run["run_dir"]) / VARIANT_LABELS[variant]
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        best = summary.get("best_epoch")
        roles = {
            "best": (None if best is None else best + 1, summary.get("best_value")),
            "last": (summary.get("epochs"), None),
        }
        for role, (epoch, value) in roles.items():
            path = folder / "checkpoints" / f"{role}.pt"
            if path.is_file():
                context.record_checkpoint(
                    path=path,
                    variant=variant,
                    role=role,
                    run_id=run["run_id"],
                    epoch=epoch,
                    monitor=summary.get("monitor"),
                    value=value,
                )


@attrs.frozen
class TrainParams:
    """What to train."""

    modalities: Literal["fused", "image", "clinical", "all"] = attrs.field(
        default="fused", metadata={"help": "the fused model, one unimodal baseline, or all three"}
    )
    name: str = attrs.field(default="", metadata={"help": "run name (default: <config name>-<modalities>)"})
    epochs: int | None = attrs.field(default=None, metadata={"help": "override trainer.params.epochs"})
    overrides: list[str] = attrs.field(factory=list, metadata={"help": "config changes, KEY=YAML value"})


class TrainNode:
    """Train the chosen variant(s) on each incoming dataset (one run each, e.g. one per fold)."""

    inputs: ClassVar[Mapping[str, str]] = {"dataset": "dataset[]"}
    outputs: ClassVar[Mapping[str, str]] = {"run": "run", "runs": "run[]"}
    optional: ClassVar[frozenset[str]] = frozenset()
    params = TrainParams

    def run(self, inputs: Mapping[str, Any], params: TrainParams, context: NodeContext) -> dict[str, Any]:
        """``medfusion train`` per dataset; an interrupted earlier attempt is continued with
        ``--resume`` (its checkpoints), anything else is (re)trained from scratch. Each run's
        checkpoints are recorded."""
        changes = parse_overrides(params.overrides)
        if params.epochs is not None:
            changes["trainer.params.epochs"] = params.epochs
        runs = []
        for index, dataset in enumerate(inputs["dataset"]):
            name = params.name or f"{config_name(dataset['config'])}-{params.modalities}"
            if len(inputs["dataset"]) > 1 and params.name:
                name = f"{params.name}-{index}"
            config = write_config(
                dataset["config"], context.work_dir / f"config-{index}.yaml", {**changes, "name": name}
            )
            run_dir = context.runs_dir / name
            variants = _VARIANTS[params.modalities]
            folders = [run_dir / VARIANT_LABELS[variant] for variant in variants]
            resumable = all((folder / "checkpoints" / "last.pt").is_file() for folder in folders) and not all(
                (folder / "summary.json").is_file() for folder in folders
            )
            mode = "--resume" if resumable else "--overwrite"
            out = medfusion(
                context,
                "train",
                str(config),
                "--modalities",
                params.modalities,
                "--runs-dir",
                str(context.runs_dir),
                mode,
            )
            runs.append(_run_value(Path(last_line(out, "run:")), name, variants))
            record_checkpoints(context, runs[-1])
        return {"run": runs[0], "runs": runs}


@attrs.frozen
class EvaluateParams:
    """Nothing to set: the evaluation follows each run's config."""


class EvaluateNode:
    """The evaluation report of each run (thresholds on validation, metrics with CIs on test)."""

    inputs: ClassVar[Mapping[str, str]] = {"runs": "run[]"}
    outputs: ClassVar[Mapping[str, str]] = {"runs": "run[]"}
    optional: ClassVar[frozenset[str]] = frozenset()
    params = EvaluateParams

    def run(self, inputs: Mapping[str, Any], params: EvaluateParams, context: NodeContext) -> dict[str, Any]:
        """``medfusion evaluate`` per run; each run gains ``report`` and its test ``auroc`` by model."""
        out = []
        for run in inputs["runs"]:
            report = last_line(medfusion(context, "evaluate", run["run_dir"]), "report:")
            metrics = json.loads((Path(report).parent / "metrics.json").read_text(encoding="utf-8"))
            scores = {
                label: model.get("auroc", {}).get("value") for label, model in metrics["models"].items()
            }
            out.append({**run, "report": report, "auroc": scores})
        return {"runs": out}


@attrs.frozen
class CompareParams:
    """Which metric chooses the champion."""

    metric: str = attrs.field(
        default="auroc", metadata={"help": "test metric of the reports (higher is better)"}
    )


class CompareNode:
    """Compare evaluated runs: their test metrics, DeLong/McNemar of the first against each other
    (the tracking store's comparison), and the champion by ``metric``."""

    inputs: ClassVar[Mapping[str, str]] = {"runs": "run[]"}
    outputs: ClassVar[Mapping[str, str]] = {"comparison": "comparison"}
    optional: ClassVar[frozenset[str]] = frozenset()
    params = CompareParams

    def run(self, inputs: Mapping[str, Any], params: CompareParams, context: NodeContext) -> dict[str, Any]:
        """Resolve each run in the store, rank by the metric, run the paired tests."""
        from medfusion_plugin_tracking.comparison import paired_tests, report_metrics, resolve
        from medfusion_plugin_tracking.store import TrackingStore

        labels = {label: variant for variant, label in VARIANT_LABELS.items()}
        with TrackingStore(context.tracking_url) as store:
            compared = []
            for run in inputs["runs"]:
                if not run.get("run_id"):
                    raise WorkflowError(f"run {run['name']}: not in the tracking store (tracking off?)")
                compared.append(resolve(store, run["run_id"]))
            models = []
            for item, run in zip(compared, inputs["runs"], strict=True):
                value = report_metrics(item).get(f"test.{params.metric}")
                if value is None:
                    raise WorkflowError(
                        f"run {run['name']}: its report has no test {params.metric} (evaluate it first)"
                    )
                score = value["value"] if isinstance(value, Mapping) else value
                models.append(
                    {
                        **run,
                        "variant": labels.get(str(item.label), "fused"),
                        "label": item.label,
                        "metric": params.metric,
                        "value": score,
                    }
                )
            results, skipped = paired_tests(compared)
        champion = max(models, key=lambda model: model["value"])
        comparison = {
            "models": models,
            "champion": champion,
            "paired": [r.to_dict() for r in results],
            "skipped": skipped,
        }
        write_output(context, "comparison.json", comparison)
        context.log(
            f"champion: {champion['name']} ({champion['variant']}, {params.metric} {champion['value']:.4f})"
        )
        return {"comparison": comparison}
