"""Decision-curve analysis: net benefit across threshold probabilities.

At threshold probability ``pt`` a patient is treated when ``p >= pt``; with ``N`` patients,
``net benefit = TP / N - FP / N * pt / (1 - pt)``. Treat-all uses every patient as positive
(``prevalence - (1 - prevalence) * pt / (1 - pt)``); treat-none is 0.
"""

from __future__ import annotations

import attrs
import numpy as np

from medfusion_plugin_evaluation.predictions import EvaluationError
from medfusion_plugin_evaluation.result import Result

#: Threshold probabilities 0.01, 0.02, ..., 0.99.
DEFAULT_THRESHOLDS = np.round(np.arange(1, 100) / 100.0, 2)
#: The default ``evaluation.decision_range``.
DEFAULT_RANGE = (0.01, 0.99)


def range_thresholds(decision_range: tuple[float, float] | list[float]) -> np.ndarray:
    """Threshold probabilities from ``low`` to ``high`` in steps of 0.01 (both ends included);
    raises :class:`EvaluationError` naming ``evaluation.decision_range`` unless
    ``0 < low < high < 1``."""
    low, high = (float(v) for v in decision_range) if len(decision_range) == 2 else (np.nan, np.nan)
    if not 0.0 < low < high < 1.0:
        raise EvaluationError(
            f"evaluation.decision_range: {list(decision_range)}; give [low, high] with 0 < low < high < 1, "
            "e.g. [0.05, 0.5] for the clinically relevant range"
        )
    steps = np.arange(np.ceil(low * 100 - 1e-9), np.floor(high * 100 + 1e-9) + 1) / 100.0
    return np.unique(np.round(np.r_[low, steps, high], 4))


@attrs.frozen
class DecisionCurve(Result):
    """Net benefit of the model, treat-all and treat-none at each threshold probability."""

    thresholds: np.ndarray
    model: np.ndarray
    treat_all: np.ndarray
    treat_none: np.ndarray


def decision_curve(
    y_true: np.ndarray, probabilities: np.ndarray, thresholds: np.ndarray | None = None
) -> DecisionCurve:
    """Net benefit of treating patients with ``probability >= pt`` for each ``pt`` in ``thresholds``."""
    pt = DEFAULT_THRESHOLDS if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    if np.any((pt <= 0.0) | (pt >= 1.0)):
        raise EvaluationError("decision curve thresholds must lie strictly between 0 and 1")
    y = np.asarray(y_true).astype(bool)
    p = np.asarray(probabilities, dtype=np.float64)
    n = y.size
    positives = np.sort(p[y])
    negatives = np.sort(p[~y])
    tp = positives.size - np.searchsorted(positives, pt, side="left")
    fp = negatives.size - np.searchsorted(negatives, pt, side="left")
    odds = pt / (1.0 - pt)
    prevalence = positives.size / n
    return DecisionCurve(
        thresholds=pt,
        model=tp / n - fp / n * odds,
        treat_all=prevalence - (1.0 - prevalence) * odds,
        treat_none=np.zeros_like(pt),
    )
