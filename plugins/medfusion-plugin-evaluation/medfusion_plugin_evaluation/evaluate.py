"""One entry point that evaluates a model's predictions for any task."""

from __future__ import annotations

from collections.abc import Sequence

from medfusion_plugin_evaluation.binary import BinaryEvaluation, evaluate_binary
from medfusion_plugin_evaluation.decision import DEFAULT_RANGE
from medfusion_plugin_evaluation.multiclass import MulticlassEvaluation, evaluate_multiclass
from medfusion_plugin_evaluation.predictions import EvaluationError, ModelPredictions, check_task
from medfusion_plugin_evaluation.regression import RegressionEvaluation, evaluate_regression

Evaluation = BinaryEvaluation | MulticlassEvaluation | RegressionEvaluation


def evaluate_model(
    predictions: ModelPredictions,
    *,
    task: str,
    threshold_rule: str = "youden",
    target_sensitivity: float = 0.9,
    n_resamples: int = 2000,
    seed: int = 0,
    subgroups: Sequence[str] = (),
    class_names: Sequence[str] | None = None,
    label: str = "model",
    decision_range: tuple[float, float] | list[float] = DEFAULT_RANGE,
) -> Evaluation:
    """Evaluate ``predictions`` for ``task`` ("binary", "multiclass" or "regression").

    Threshold settings and ``decision_range`` (the decision curve's threshold probabilities) apply
    to binary tasks, ``class_names`` to multi-class tasks.
    """
    check_task(task)
    if n_resamples < 0:
        raise EvaluationError(
            f"evaluation.bootstrap: {n_resamples} resamples; use 0 (no CIs) or more, e.g. 2000"
        )
    common = {"n_resamples": n_resamples, "seed": seed, "subgroups": subgroups, "label": label}
    if task == "binary":
        return evaluate_binary(
            predictions,
            threshold_rule=threshold_rule,
            target_sensitivity=target_sensitivity,
            decision_range=decision_range,
            **common,
        )
    if task == "multiclass":
        return evaluate_multiclass(predictions, class_names=class_names, **common)
    return evaluate_regression(predictions, **common)
