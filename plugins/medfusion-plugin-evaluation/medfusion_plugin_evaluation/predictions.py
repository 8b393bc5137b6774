"""What a model predicted on one split, checked once so every metric can trust it.

Scores are probabilities for classification (binary: ``P(positive)`` of shape ``[N]``;
multiclass: softmax probabilities ``[N, K]``) and predicted values ``[N]`` for regression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
import numpy as np

from medfusion_core.errors import MedFusionError

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")


class EvaluationError(MedFusionError):
    """Predictions or report settings are unusable; the message names the model, split and field."""


def check_task(task: str) -> None:
    """Raise :class:`EvaluationError` unless ``task`` is binary, multiclass or regression."""
    if task not in TASKS:
        raise EvaluationError(f"task.type: {task!r} is not supported; use one of {', '.join(TASKS)}")


def _subgroups(value: Mapping[str, Sequence[Any]] | None) -> dict[str, np.ndarray]:
    return {str(name): np.asarray(values, dtype=object) for name, values in (value or {}).items()}


@attrs.frozen
class SplitPredictions:
    """Labels, scores, optional per-patient subgroup values and patient ids of one split.

    ``patient_ids`` (optional) lets the report check that models are compared on the same patients.
    """

    y_true: np.ndarray = attrs.field(converter=np.asarray)
    scores: np.ndarray = attrs.field(converter=np.asarray)
    subgroups: dict[str, np.ndarray] = attrs.field(factory=dict, converter=_subgroups)
    patient_ids: list[str] | None = None

    def check(self, task: str, where: str) -> SplitPredictions:
        """Validate shapes and values for ``task``; ``where`` names the model and split in errors.

        Returns a copy with ``y_true`` and ``scores`` in canonical dtypes.
        """
        check_task(task)
        y = np.asarray(self.y_true)
        scores = np.asarray(self.scores, dtype=np.float64)
        n = y.shape[0] if y.ndim == 1 else -1
        if y.ndim != 1 or n == 0:
            raise EvaluationError(f"{where}: y_true must be a non-empty 1-D array, got shape {y.shape}")
        expected_ndim = 2 if task == "multiclass" else 1
        if scores.ndim != expected_ndim or scores.shape[0] != n:
            shape = "[N, K] class probabilities" if task == "multiclass" else "[N]"
            raise EvaluationError(
                f"{where}: scores must have shape {shape} with N={n} (like y_true), got {scores.shape}"
            )
        if not np.all(np.isfinite(scores)):
            raise EvaluationError(f"{where}: scores contain nan or inf at row {_first_bad(scores)}")
        if task == "regression":
            y = y.astype(np.float64)
            if not np.all(np.isfinite(y)):
                raise EvaluationError(f"{where}: y_true contains nan or inf at row {_first_bad(y)}")
        else:
            y = _class_labels(y, 2 if task == "binary" else scores.shape[1], where)
            if scores.min() < 0.0 or scores.max() > 1.0:
                raise EvaluationError(
                    f"{where}: scores must be probabilities in [0, 1] (apply sigmoid/softmax to logits)"
                )
        if self.patient_ids is not None and len(self.patient_ids) != n:
            raise EvaluationError(f"{where}: {len(self.patient_ids)} patient_ids for {n} predictions")
        for name, values in self.subgroups.items():
            if values.shape != (n,):
                raise EvaluationError(
                    f"{where}: subgroup {name!r} has {values.shape[0]} values, expected {n}"
                )
        return attrs.evolve(self, y_true=y, scores=scores)


def _first_bad(values: np.ndarray) -> int:
    bad = ~np.isfinite(values)
    return int(np.argwhere(bad)[0][0])


def _class_labels(y: np.ndarray, num_classes: int, where: str) -> np.ndarray:
    try:
        as_float = y.astype(np.float64)
    except (TypeError, ValueError):
        raise EvaluationError(f"{where}: y_true must hold integer class labels, got {y.dtype}") from None
    labels = as_float.astype(np.int64)
    bad = ~np.isfinite(as_float) | (labels != as_float) | (labels < 0) | (labels >= num_classes)
    if bad.any():
        row = int(np.argmax(bad))
        raise EvaluationError(
            f"{where}: y_true row {row} is {y[row]}; labels must be integers 0..{num_classes - 1}"
        )
    return labels


@attrs.frozen
class ModelPredictions:
    """A model's predictions on the test split and, for choosing a threshold, the validation split."""

    test: SplitPredictions
    validation: SplitPredictions | None = None
