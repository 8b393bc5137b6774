"""Explain a trained run: maps for every view and clinical attributions of chosen patients, the
randomised-weights check, permutation importance on validation and lesion-mask scores on test.

``explain_run(run, patients, out)`` writes ``out/<patient>/<variant>-view<k>-<file>.png`` overlays
and ``out/explanations.json`` with the numbers, for each trained variant with an image branch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch

from medfusion_core.data import PreparedData
from medfusion_core.errors import DataError
from medfusion_core.model import MultimodalModel
from medfusion_core.runs.io import write_json
from medfusion_core.runs.loading import LoadedRun, load_variant, open_run
from medfusion_plugin_explain.cam import METHODS, attention_read_out, class_activation_maps
from medfusion_plugin_explain.clinical import (
    all_missing_baseline,
    column_groups,
    integrated_gradients,
    permutation_importance,
)
from medfusion_plugin_explain.evidence import supervision
from medfusion_plugin_explain.overlay import overlay_figure, save_png
from medfusion_plugin_explain.sanity import randomised, rank_correlation
from medfusion_plugin_explain.scores import mask_scores

RESULT_FILE = "explanations.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@attrs.frozen
class ExplainOptions:
    """Settings of :func:`explain_run`.

    Attributes:
        methods: map methods (of :data:`~medfusion_plugin_explain.cam.METHODS`).
        steps: integration steps of integrated gradients.
        repeats: shuffles per column of permutation importance.
        target_class: class explained for a multiclass task (default: the predicted one).
        batch_size: patients per batch.
    """

    methods: tuple[str, ...] = METHODS
    steps: int = 64
    repeats: int = 5
    target_class: int | None = None
    batch_size: int = 8


def mean(values: Sequence[float]) -> float | None:
    """Mean of the finite ``values``; ``None`` when there is none (e.g. every map all zero)."""
    finite = [float(v) for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def json_ready(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (strict JSON)."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def patient_indices(data: PreparedData, patients: Sequence[str]) -> list[int]:
    """Manifest indices of ``patients``; a :class:`DataError` names an unknown id."""
    known = {patient: i for i, patient in enumerate(data.manifest.patients)}
    missing = [p for p in patients if p not in known]
    if missing:
        sample = ", ".join(data.manifest.patients[:3])
        raise DataError(
            f"--patients: {missing[0]!r} is not a patient of {data.manifest.path} (ids look like {sample})"
        )
    return [known[p] for p in patients]


def batches_of(data: PreparedData, indices: Sequence[int], batch_size: int) -> list[dict[str, Any]]:
    """The evaluation-mode batches of the patients ``indices``, in that order."""
    loader = data.loader("all", train=False, batch_size=batch_size)
    loader.indices = np.asarray(indices, dtype=np.int64)
    return list(loader.iter_batches(0))


def probability(logits: torch.Tensor, task: str, target_class: int | None = None) -> np.ndarray:
    """What the model predicts per patient: P(positive), P(explained class) or the value."""
    if task == "binary":
        return torch.sigmoid(logits[:, 0]).numpy()
    if task == "multiclass":
        probabilities = torch.softmax(logits, dim=1)
        chosen = (
            probabilities.argmax(dim=1)
            if target_class is None
            else torch.full_like(logits[:, 0], target_class)
        )
        return probabilities.gather(1, chosen.long()[:, None])[:, 0].numpy()
    return logits[:, 0].numpy()


def view_names(data: PreparedData, index: int) -> list[str]:
    """File-name-safe names of a patient's views: ``view<k>-<file stem>``."""
    return [
        f"view{k}-{_UNSAFE.sub('_', Path(path).name.split('.')[0])}"
        for k, path in enumerate(data.manifest.views[index])
    ]


def _maps(model: MultimodalModel, batch: dict[str, Any], task: str, options: ExplainOptions):
    maps, logits = class_activation_maps(
        model, batch, task=task, methods=options.methods, target_class=options.target_class
    )
    return {**maps, **attention_read_out(model, batch)}, logits


def _sanity(
    model: MultimodalModel,
    batch: dict[str, Any],
    maps: dict[str, torch.Tensor],
    task: str,
    options: ExplainOptions,
) -> dict[str, float]:
    """Mean rank correlation, over present views, of each method's map with the map of the same
    model with random weights (near 0: the map depends on what the model learnt)."""
    random_maps, _ = class_activation_maps(
        randomised(model), batch, task=task, methods=options.methods, target_class=options.target_class
    )
    present = torch.nonzero(batch["view_mask"], as_tuple=True)
    return {
        method: [
            rank_correlation(maps[method][b, v], random_maps[method][b, v])
            for b, v in zip(*present, strict=True)
        ]
        for method in options.methods
    }


def _patient_views(data, batch, maps, row, index, variant, out: Path, title: str) -> dict[str, Any]:
    """Overlays of one patient's views (written under ``out``) and their mask scores."""
    views: dict[str, Any] = {}
    folder = out / _UNSAFE.sub("_", data.manifest.patients[index])
    for v, name in enumerate(view_names(data, index)):
        view_maps = {method: m[row, v].numpy() for method, m in maps.items()}
        file = folder / f"{variant}-{name}.png"
        save_png(file, overlay_figure(batch["images"][row, v].numpy(), view_maps, f"{title} · {name}"))
        entry: dict[str, Any] = {"file": str(file.relative_to(out))}
        if "lesion_mask" in batch and bool(batch["lesion_mask_valid"][row, v]):
            mask = batch["lesion_mask"][row, v, 0]
            entry["mask"] = {method: mask_scores(m[row, v], mask) for method, m in maps.items()}
        views[name] = entry
    return views


def _clinical(model, batch, row, data: PreparedData, attribution) -> dict[str, Any]:
    names = data.tabular.feature_names
    values = attribution.values[row]
    return {
        "columns": {c: float(values[i].sum()) for c, i in column_groups(data.tabular).items()},
        "features": {name: float(values[i]) for i, name in enumerate(names)},
        "score": float(attribution.score[row]),
        "baseline_score": float(attribution.baseline_score[row]),
        "completeness_error": float(attribution.completeness_error[row]),
    }


def mask_agreement(
    model: MultimodalModel, data: PreparedData, split: str, task: str, options: ExplainOptions
) -> dict[str, Any] | None:
    """Pointing-game rate, mean IoU and mean mass inside the lesion of every map, over the views
    of ``split`` that have a lesion mask; ``None`` when the run has no masks or none there."""
    if data.config.data.mask is None or not len(data.indices(split)):
        return None
    collected: dict[str, list[dict[str, Any]]] = {}
    for batch in data.loader(split, train=False, batch_size=options.batch_size).iter_batches(0):
        maps, _ = _maps(model, batch, task, options)
        for b, v in zip(*torch.nonzero(batch["lesion_mask_valid"], as_tuple=True), strict=True):
            for method, m in maps.items():
                collected.setdefault(method, []).append(mask_scores(m[b, v], batch["lesion_mask"][b, v, 0]))
    if not collected:
        return None
    return {
        method: {
            "views": len(rows),
            "pointing_game": float(np.mean([r["pointing_hit"] for r in rows])),
            "iou": mean([r["iou"] for r in rows]),
            "mass_inside": mean([r["mass_inside"] for r in rows]),
        }
        for method, rows in collected.items()
    }


def explain_variant(
    run: LoadedRun, variant: str, patients: Sequence[str], out: Path, options: ExplainOptions
) -> dict[str, Any]:
    """Everything :func:`explain_run` reports for one variant (writes its overlays)."""
    model = load_variant(run, variant)
    data = run.prepare_data(variant)
    task = run.config.task.type
    indices = patient_indices(data, patients)
    baseline = all_missing_baseline(data.tabular)
    result: dict[str, Any] = {"patients": {}, "sanity": {}}
    sanity_rows: list[dict[str, list[float]]] = []
    start = 0
    for batch in batches_of(data, indices, options.batch_size):
        maps, logits = _maps(model, batch, task, options)
        predicted = probability(logits, task, options.target_class)
        sanity_rows.append(_sanity(model, batch, maps, task, options))
        attribution = (
            integrated_gradients(
                model, batch, baseline, task=task, steps=options.steps, target_class=options.target_class
            )
            if model.tabular is not None
            else None
        )
        for row, index in enumerate(indices[start : start + len(predicted)]):
            label = data.labels.values[index]
            patient = data.manifest.patients[index]
            title = f"{patient} · {variant} · prediction {predicted[row]:.3f} · label {label}"
            entry: dict[str, Any] = {
                "label": label.item() if hasattr(label, "item") else label,
                "split": str(data.splits[index]),
                "prediction": float(predicted[row]),
                "views": _patient_views(data, batch, maps, row, index, variant, out, title),
            }
            if attribution is not None:
                entry["clinical"] = _clinical(model, batch, row, data, attribution)
            result["patients"][data.manifest.patients[index]] = entry
        start += len(predicted)
    result["sanity"] = {m: mean([c for r in sanity_rows for c in r[m]]) for m in options.methods}
    if model.tabular is not None and len(data.indices("val")):
        val = list(data.loader("val", train=False, batch_size=options.batch_size).iter_batches(0))
        result["permutation_importance"] = permutation_importance(
            model, val, column_groups(data.tabular), task=task, repeats=options.repeats, seed=run.config.seed
        )
    result["mask_scores"] = mask_agreement(model, data, "test", task, options)
    return result


def image_variants(run: LoadedRun, variant: str | None = None) -> list[str]:
    """The trained variants with an image branch (or just ``variant``); a :class:`DataError` when
    there is none."""
    trained = [v.modalities for v in run.paths.trained_variants() if v.modalities != "clinical"]
    if variant is not None:
        if variant not in trained:
            raise DataError(
                f"{run.root}: variant {variant!r} has no trained model with images "
                f"(trained with images: {', '.join(trained) or 'none'})"
            )
        return [variant]
    if not trained:
        raise DataError(f"{run.root}: no trained variant with images to explain; train fused or image")
    return trained


def explain_run(
    run_dir: str | Path,
    patients: Sequence[str],
    out: str | Path,
    *,
    variant: str | None = None,
    options: ExplainOptions = ExplainOptions(),
) -> Path:
    """Explain ``patients`` with every image variant of the run (or ``variant``); returns the
    path of the written ``explanations.json``."""
    unknown = [m for m in options.methods if m not in METHODS]
    if unknown:
        raise DataError(f"--method: unknown method {unknown[0]!r}; use {', '.join(METHODS)}")
    if not patients:
        raise DataError("--patients: name at least one patient id")
    run = open_run(run_dir)
    out = Path(out)
    variants = {
        name: explain_variant(run, name, patients, out, options) for name in image_variants(run, variant)
    }
    result = {
        "run": str(run.root),
        "task": run.config.task.type,
        "methods": list(options.methods),
        "attention_supervision": supervision(run.config),
        "variants": variants,
    }
    return write_json(out / RESULT_FILE, json_ready(result))
