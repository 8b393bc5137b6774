"""Attributions of the clinical inputs: integrated gradients from the all-missing baseline and
permutation importance on a split.

The baseline is what the run's tabular preprocessing makes of a patient whose every clinical
value is missing: numeric columns at the training median (standardised), ``<column>_missing``
indicators at 1 and every one-hot category at 0. Attributions of the encoded features are
summed per source column (a numeric column with its indicator; a categorical column's one-hots).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
import pandas as pd
import torch
from torch import nn

from medfusion_core.data import TabularPreprocessor
from medfusion_core.model import MODEL_INPUTS, MultimodalModel
from medfusion_plugin_explain.cam import explained_score


def all_missing_baseline(tabular: TabularPreprocessor) -> torch.Tensor:
    """The encoded clinical vector ``[F]`` of a patient with every clinical value missing."""
    frame = pd.DataFrame(
        {**{c: [np.nan] for c in tabular.numeric}, **{c: [None] for c in tabular.categorical}}
    )
    return torch.from_numpy(tabular.transform(frame)[0])


def column_groups(tabular: TabularPreprocessor) -> dict[str, list[int]]:
    """Source column -> indices of its encoded features."""
    names = tabular.feature_names
    groups: dict[str, list[int]] = {column: [names.index(column)] for column in tabular.numeric}
    for column in tabular.indicators:
        groups[column].append(names.index(f"{column}_missing"))
    for column in tabular.categorical:
        groups[column] = [names.index(f"{column}={value}") for value in tabular.categories[column]]
    return groups


@attrs.frozen
class Attribution:
    """Integrated gradients of a batch.

    Attributes:
        values: attributions ``[B, F]`` of the encoded features.
        score: explained score at the input ``[B]``.
        baseline_score: explained score at the all-missing baseline ``[B]``.
    """

    values: torch.Tensor
    score: torch.Tensor
    baseline_score: torch.Tensor

    @property
    def completeness_error(self) -> torch.Tensor:
        """``|sum(values) - (score - baseline_score)|`` per patient (0 for exact integration)."""
        return (self.values.sum(dim=1) - (self.score - self.baseline_score)).abs()


class _Replay(nn.Module):
    """Stands in for the image encoder: returns the output it was given, whatever the input."""

    def __init__(self, output: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.output = output

    def forward(self, images: torch.Tensor, view_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """The recorded output (a fresh dict: the model pops from it)."""
        return dict(self.output)


@contextlib.contextmanager
def fixed_images(model: MultimodalModel, batch: dict[str, Any]) -> Iterator[None]:
    """Inside the block the model's image branch replays its output for ``batch`` instead of
    running again: only the clinical input changes along an attribution path or a shuffle."""
    encoder = getattr(model, "image_encoder", None)
    if encoder is None:
        yield
        return
    seen: list[dict[str, torch.Tensor]] = []
    handle = encoder.register_forward_hook(lambda _m, _i, out: seen.append(dict(out)))
    try:
        with torch.no_grad():
            model(*(batch[key] for key in MODEL_INPUTS))
    finally:
        handle.remove()
    model.image_encoder = _Replay({key: value.detach() for key, value in seen[0].items()})
    try:
        yield
    finally:
        model.image_encoder = encoder


def _score(
    model: MultimodalModel, batch: dict[str, Any], clinical: torch.Tensor, task: str, target: int | None
):
    inputs = {**batch, "clinical": clinical}
    return explained_score(model(*(inputs[key] for key in MODEL_INPUTS)), task, target)


def integrated_gradients(
    model: MultimodalModel,
    batch: dict[str, Any],
    baseline: torch.Tensor,
    *,
    task: str,
    steps: int = 64,
    target_class: int | None = None,
) -> Attribution:
    """Integrated gradients of the clinical vector along the straight path from ``baseline`` to
    the input (midpoint rule with ``steps`` points); images and masks stay as given."""
    clinical = batch["clinical"].float()
    start = baseline.to(clinical).expand_as(clinical)
    total = torch.zeros_like(clinical)
    with fixed_images(model, batch), torch.enable_grad():
        for step in range(steps):
            point = (start + (step + 0.5) / steps * (clinical - start)).requires_grad_(True)
            (grad,) = torch.autograd.grad(_score(model, batch, point, task, target_class).sum(), point)
            total += grad
    with fixed_images(model, batch), torch.no_grad():
        score = _score(model, batch, clinical, task, target_class)
        baseline_score = _score(model, batch, start, task, target_class)
    return Attribution((clinical - start) * total / steps, score, baseline_score)


def metric(task: str, y_true: np.ndarray, logits: np.ndarray) -> float:
    """Higher-is-better metric for permutation importance: AUROC (binary), accuracy (multiclass),
    negative mean squared error (regression)."""
    if task == "binary":
        ranks = pd.Series(logits[:, 0]).rank().to_numpy()
        positives = y_true == 1
        n_pos, n_neg = int(positives.sum()), int((~positives).sum())
        if not n_pos or not n_neg:
            return float("nan")
        return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    if task == "multiclass":
        return float((logits.argmax(axis=1) == y_true).mean())
    return -float(((logits[:, 0] - y_true) ** 2).mean())


def permutation_importance(
    model: MultimodalModel,
    batches: list[dict[str, Any]],
    groups: dict[str, list[int]],
    *,
    task: str,
    repeats: int = 5,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Per source column: the mean and standard deviation over ``repeats`` of the drop in
    :func:`metric` when that column's features are shuffled across the patients of ``batches``
    (one split, held in memory); ``baseline`` holds the unshuffled metric."""
    whole = {key: torch.cat([b[key] for b in batches]) for key in (*MODEL_INPUTS, "label")}
    y_true = whole["label"].numpy()

    def evaluate(clinical: torch.Tensor) -> float:
        with torch.no_grad():
            logits = model(*({**whole, "clinical": clinical}[key] for key in MODEL_INPUTS))
        return metric(task, y_true, logits.float().numpy())

    rng = np.random.default_rng(seed)
    with fixed_images(model, whole):
        reference = evaluate(whole["clinical"])
        result: dict[str, dict[str, float]] = {"baseline": {"metric": reference}}
        for column, indices in groups.items():
            drops = []
            for _ in range(repeats):
                shuffled = whole["clinical"].clone()
                order = torch.from_numpy(rng.permutation(len(y_true)))
                shuffled[:, indices] = whole["clinical"][order][:, indices]
                drops.append(reference - evaluate(shuffled))
            result[column] = {"mean": float(np.mean(drops)), "std": float(np.std(drops))}
    return result
