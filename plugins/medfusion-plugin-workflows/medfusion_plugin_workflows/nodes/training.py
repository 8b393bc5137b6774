"""Training and evaluation nodes: ``train`` (one variant or all, one run per dataset), ``evaluate``
(the evaluation report of each run) and ``compare`` (the tracking store's statistical comparison,
choosing the champion)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
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


#: What a variant folder's ``checkpoints/`` holds: ``<role>.pt``.
CHECKPOINT_ROLES = ("best", "last")
#: ``(epoch, monitor, value)`` of a checkpoint file.
Facts = tuple[int | None, str | None, float | None]


def _checkpoint(folder: Path, role: str) -> Path:
    return folder / "checkpoints" / f"{role}.pt"


def _record(context: NodeContext, run: Mapping[str, Any], facts: Callable[[Path, str], Facts | None]) -> None:
    """Record each checkpoint file of ``run``'s variant folders for which ``facts(folder, role)``
    gives its ``(epoch, monitor, value)`` (None: not recorded)."""
    for variant in run["variants"]:
        folder = Path(run["run_dir"]) / VARIANT_LABELS[variant]
        for role in CHECKPOINT_ROLES:
            path = _checkpoint(folder, role)
            found = facts(folder, role) if path.is_file() else None
            if found is not None:
                epoch, monitor, value = found
                context.record_checkpoint(
                    path=path,
                    variant=variant,
                    role=role,
                    run_id=run["run_id"],
                    epoch=epoch,
                    monitor=monitor,
                    value=value,
                )


def _summary_facts(folder: Path, role: str) -> Facts:
    """From the variant's ``summary.json``: the epochs trained when the file was written, the
    monitor, and for ``best`` its monitored value."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    if role == "best":
        best = summary.get("best_epoch")
        return None if best is None else best + 1, summary.get("monitor"), summary.get("best_value")
    return summary.get("epochs"), summary.get("monitor"), None


def _saved_facts(path: Path, role: str) -> Facts:
    """From the checkpoint itself: ``position.epoch`` (the epochs completed when it was written),
    the monitor, and for ``best`` its monitored value; all None when the file cannot be read as a
    checkpoint. Imports torch (only a training that did not finish needs it)."""
    from medfusion_core.errors import CheckpointError
    from medfusion_core.runs.io import load_checkpoint

    try:
        state = load_checkpoint(path)
    except CheckpointError:
        return None, None, None
    progress = state.get("progress") or {}
    return (
        (state.get("position") or {}).get("epoch"),
        state.get("monitor"),
        progress.get("best") if role == "best" else None,
    )


def _identity(path: Path) -> tuple[int, int]:
    """Inode and mtime: what changes when the trainer writes the file again (it replaces it)."""
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


def checkpoint_files(folders: list[Path]) -> dict[Path, tuple[int, int]]:
    """The checkpoint files in the variant ``folders``, each with its :func:`_identity`."""
    paths = (_checkpoint(folder, role) for folder in folders for role in CHECKPOINT_ROLES)
    return {path: _identity(path) for path in paths if path.is_file()}


def record_checkpoints(context: NodeContext, run: Mapping[str, Any]) -> None:
    """Record the best and last checkpoints of each variant of the finished ``run``: ``epoch`` is
    the number of epochs trained when it was written, ``value`` the monitored metric of the best
    (both from the variant's ``summary.json``)."""
    _record(context, run, _summary_facts)


def record_unfinished(
    context: NodeContext, run: Mapping[str, Any], before: Mapping[Path, tuple[int, int]]
) -> None:
    """Record the checkpoints a failed or cancelled training left in ``run``'s variant folders,
    with the epoch and value saved in each; a file as it was in ``before`` (from
    :func:`checkpoint_files` before the training) is not this training's: a failed retrain puts
    the earlier run's files back."""

    def facts(folder: Path, role: str) -> Facts | None:
        path = _checkpoint(folder, role)
        return None if before.get(path) == _identity(path) else _saved_facts(path, role)

    _record(context, run, facts)


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
        checkpoints are recorded, also those a failed or cancelled training wrote."""
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
            # a resumed training continues the files on disk; a retrain owns only those it writes
            before = {} if resumable else checkpoint_files(folders)
            try:
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
            except WorkflowError:  # failed or cancelled: what it wrote so far is still recorded
                record_unfinished(context, _run_value(run_dir, name, variants), before)
                raise
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
