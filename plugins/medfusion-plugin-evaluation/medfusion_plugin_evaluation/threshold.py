"""Choosing the decision threshold on validation data.

Rules (``config.evaluation.threshold``):

- ``youden``: the threshold maximising Youden's J = sensitivity + specificity − 1 (the highest
  such threshold on ties);
- ``sensitivity``: the highest threshold whose sensitivity reaches ``target_sensitivity``.

Candidates are the distinct validation scores; a patient is positive when ``score >= threshold``.
Without validation predictions the threshold is a fixed 0.5, and :class:`ThresholdChoice` says so.
"""

from __future__ import annotations

import attrs
import numpy as np

from medfusion_plugin_evaluation.curves import roc_curve
from medfusion_plugin_evaluation.predictions import EvaluationError
from medfusion_plugin_evaluation.result import Result

RULES: tuple[str, ...] = ("youden", "sensitivity")
DEFAULT_THRESHOLD = 0.5


@attrs.frozen
class ThresholdChoice(Result):
    """The chosen threshold, the rule, where it was chosen, and its validation operating point."""

    value: float
    rule: str
    source: str
    target_sensitivity: float | None = None
    validation_sensitivity: float | None = None
    validation_specificity: float | None = None

    def describe(self) -> str:
        """One line for reports, e.g. ``"0.42 (Youden's J on validation)"``."""
        if self.source != "validation":
            return f"{self.value:.3g} (fixed: no validation predictions)"
        if self.rule == "youden":
            return f"{self.value:.3g} (Youden's J on validation)"
        return f"{self.value:.3g} (sensitivity ≥ {self.target_sensitivity:.2f} on validation)"


def choose_threshold(
    y_true: np.ndarray | None,
    scores: np.ndarray | None,
    rule: str = "youden",
    target_sensitivity: float = 0.9,
) -> ThresholdChoice:
    """Choose the threshold on validation labels and scores with ``rule``.

    Passing ``None`` (no validation data) gives the fixed threshold 0.5.
    """
    if rule not in RULES:
        raise EvaluationError(f"evaluation.threshold: unknown rule {rule!r}; use one of {', '.join(RULES)}")
    if not 0.0 < target_sensitivity <= 1.0:
        raise EvaluationError(
            f"evaluation.target_sensitivity: {target_sensitivity} is not in (0, 1]; use e.g. 0.9"
        )
    target = target_sensitivity if rule == "sensitivity" else None
    if y_true is None or scores is None:
        return ThresholdChoice(DEFAULT_THRESHOLD, rule, "default", target)
    y = np.asarray(y_true)
    if y.min() == y.max():
        raise EvaluationError(
            "validation predictions contain one class only; a threshold needs positives and negatives"
        )
    fpr, tpr, thresholds = roc_curve(y, np.asarray(scores, dtype=np.float64))
    # index 0 is the +inf threshold (nobody positive): never a useful operating point
    if rule == "youden":
        best = 1 + int(np.argmax(tpr[1:] - fpr[1:]))
    else:
        best = 1 + int(np.argmax(tpr[1:] >= target_sensitivity - 1e-12))
    return ThresholdChoice(
        float(thresholds[best]), rule, "validation", target, float(tpr[best]), float(1.0 - fpr[best])
    )
