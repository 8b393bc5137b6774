"""Multi-class and regression metrics against scikit-learn and numpy."""

from __future__ import annotations

import numpy as np
import pytest
from medfusion_plugin_evaluation.api import (
    EvaluationError,
    ModelPredictions,
    SplitPredictions,
    evaluate_multiclass,
    evaluate_regression,
)
from medfusion_plugin_evaluation.confusion import confusion_matrices
from medfusion_plugin_evaluation.multiclass import metrics_from_confusion
from sklearn import metrics as skm


def _probabilities(seed: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(0.0, 1.0, (n, k))
    logits[np.arange(n), y] += 1.0
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, probabilities


def test_multiclass_metrics_match_sklearn() -> None:
    y, probabilities = _probabilities(0, 240, 4)
    result = evaluate_multiclass(
        ModelPredictions(SplitPredictions(y, probabilities)),
        n_resamples=100,
        seed=2,
        class_names=list("abcd"),
    )
    predicted = probabilities.argmax(axis=1)
    assert result.accuracy.value == pytest.approx(skm.accuracy_score(y, predicted))
    assert result.balanced_accuracy.value == pytest.approx(skm.balanced_accuracy_score(y, predicted))
    assert result.macro_f1.value == pytest.approx(skm.f1_score(y, predicted, average="macro"))
    expected_auroc = skm.roc_auc_score(y, probabilities, multi_class="ovr", average="macro")
    assert result.macro_auroc.value == pytest.approx(expected_auroc)
    np.testing.assert_array_equal(result.confusion_matrix, skm.confusion_matrix(y, predicted))
    assert result.class_names == ["a", "b", "c", "d"]
    assert result.class_counts.tolist() == np.bincount(y, minlength=4).tolist()
    for value in (result.accuracy, result.balanced_accuracy, result.macro_f1, result.macro_auroc):
        assert value.low <= value.value <= value.high


def test_macro_f1_and_balanced_accuracy_when_a_class_is_never_predicted_or_absent() -> None:
    y = np.array([0, 0, 1, 1, 2, 2, 2, 0])
    predicted = np.array([0, 1, 1, 1, 1, 0, 1, 0])  # class 2 never predicted
    values = metrics_from_confusion(confusion_matrices(y, predicted, 4))  # class 3 absent everywhere
    assert values["macro_f1"] == pytest.approx(skm.f1_score(y, predicted, average="macro", zero_division=0))
    assert values["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, predicted))


def test_batched_confusion_matrices_equal_per_row() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, (5, 40))
    predicted = rng.integers(0, 3, (5, 40))
    batched = confusion_matrices(y, predicted, 3)
    for row in range(5):
        np.testing.assert_array_equal(
            batched[row], skm.confusion_matrix(y[row], predicted[row], labels=[0, 1, 2])
        )


def test_multiclass_scores_must_be_n_by_k_probabilities() -> None:
    with pytest.raises(EvaluationError, match=r"\[N, K\] class probabilities"):
        evaluate_multiclass(ModelPredictions(SplitPredictions([0, 1], [0.2, 0.8])), n_resamples=5)
    with pytest.raises(EvaluationError, match=r"labels must be integers 0\.\.1"):
        evaluate_multiclass(
            ModelPredictions(SplitPredictions([0, 3], [[0.2, 0.8], [0.5, 0.5]])), n_resamples=5
        )


def test_regression_metrics_match_sklearn_and_numpy() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(50.0, 10.0, 300)
    predicted = y + rng.normal(2.0, 5.0, 300)
    result = evaluate_regression(ModelPredictions(SplitPredictions(y, predicted)), n_resamples=200, seed=1)
    assert result.mae.value == pytest.approx(skm.mean_absolute_error(y, predicted))
    assert result.rmse.value == pytest.approx(np.sqrt(skm.mean_squared_error(y, predicted)))
    assert result.r2.value == pytest.approx(skm.r2_score(y, predicted))
    assert result.pearson_r.value == pytest.approx(np.corrcoef(y, predicted)[0, 1])
    for value in (result.mae, result.rmse, result.r2, result.pearson_r):
        assert value.low <= value.value <= value.high
    assert result.PRIMARY == ("MAE", False)
