"""Binary metrics against scikit-learn, threshold rules and input checks."""

from __future__ import annotations

import numpy as np
import pytest
from medfusion_plugin_evaluation.api import (
    EvaluationError,
    ModelPredictions,
    SplitPredictions,
    choose_threshold,
    evaluate_binary,
)
from medfusion_plugin_evaluation.binary import confusion_counts, rates_from_counts
from sklearn import metrics as skm


def _data(seed: int, n: int, signal: float = 1.0, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    scores = 1.0 / (1.0 + np.exp(-(signal * (2 * y - 1) + rng.normal(0.0, 1.0, n))))
    if ties:
        scores = np.round(scores, 1)
    return y, scores


@pytest.mark.parametrize("ties", [False, True])
def test_auroc_auprc_and_brier_match_sklearn(ties: bool) -> None:
    y, p = _data(1, 250, ties=ties)
    yv, pv = _data(2, 200, ties=ties)
    result = evaluate_binary(
        ModelPredictions(SplitPredictions(y, p), SplitPredictions(yv, pv)), n_resamples=50, seed=3
    )
    assert result.auroc.value == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert result.auprc.value == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    assert result.brier.value == pytest.approx(skm.brier_score_loss(y, p), abs=1e-12)
    assert result.n == 250 and result.n_positive == int(y.sum())
    assert result.prevalence == pytest.approx(y.mean())


def test_roc_and_pr_curves_match_sklearn() -> None:
    y, p = _data(4, 120, ties=True)
    result = evaluate_binary(ModelPredictions(SplitPredictions(y, p)), n_resamples=10)
    fpr, tpr, _ = skm.roc_curve(y, p, drop_intermediate=False)
    np.testing.assert_allclose(result.roc["fpr"], fpr)
    np.testing.assert_allclose(result.roc["tpr"], tpr)
    precision, recall, thresholds = skm.precision_recall_curve(y, p)
    # sklearn lists increasing thresholds and appends (precision 1, recall 0)
    np.testing.assert_allclose(result.pr["precision"], precision[:-1][::-1])
    np.testing.assert_allclose(result.pr["recall"], recall[:-1][::-1])
    np.testing.assert_allclose(result.pr["thresholds"], thresholds[::-1])


def test_operating_point_uses_validation_threshold_and_matches_sklearn() -> None:
    y, p = _data(5, 300)
    yv, pv = _data(6, 200)
    result = evaluate_binary(
        ModelPredictions(SplitPredictions(y, p), SplitPredictions(yv, pv)), n_resamples=20, seed=0
    )
    assert result.threshold.source == "validation"
    expected_threshold = choose_threshold(yv, pv, "youden").value
    assert result.threshold.value == expected_threshold
    predicted = (p >= expected_threshold).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, predicted).ravel()
    np.testing.assert_array_equal(result.confusion_matrix, skm.confusion_matrix(y, predicted))
    values = {name: estimate.value for name, estimate in result.at_threshold.items()}
    assert values["sensitivity"] == pytest.approx(skm.recall_score(y, predicted))
    assert values["specificity"] == pytest.approx(skm.recall_score(y, predicted, pos_label=0))
    assert values["ppv"] == pytest.approx(skm.precision_score(y, predicted))
    assert values["npv"] == pytest.approx(skm.precision_score(y, predicted, pos_label=0))
    assert values["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted))
    assert values["f1"] == pytest.approx(skm.f1_score(y, predicted))
    assert (tn, fp, fn, tp) == tuple(confusion_counts(y, predicted))


def test_youden_threshold_maximises_j_over_sklearn_roc() -> None:
    y, p = _data(7, 200, signal=0.7)
    choice = choose_threshold(y, p, "youden")
    fpr, tpr, thresholds = skm.roc_curve(y, p, drop_intermediate=False)
    best = np.max(tpr - fpr)
    predicted = p >= choice.value
    sensitivity = predicted[y == 1].mean()
    specificity = 1.0 - predicted[y == 0].mean()
    assert sensitivity + specificity - 1.0 == pytest.approx(best)
    assert choice.validation_sensitivity == pytest.approx(sensitivity)
    assert choice.validation_specificity == pytest.approx(specificity)
    # the highest threshold among ties for the best J
    assert choice.value == np.max(thresholds[np.isclose(tpr - fpr, best)])


@pytest.mark.parametrize("target", [0.5, 0.8, 0.95, 1.0])
def test_sensitivity_rule_picks_highest_threshold_reaching_target(target: float) -> None:
    y, p = _data(8, 150)
    choice = choose_threshold(y, p, "sensitivity", target_sensitivity=target)
    sensitivity = lambda t: (p[y == 1] >= t).mean()  # noqa: E731
    assert sensitivity(choice.value) >= target
    higher = np.unique(p)[np.unique(p) > choice.value]
    assert all(sensitivity(t) < target for t in higher)
    assert choice.describe().startswith(f"{choice.value:.3g} (sensitivity")


def test_missing_validation_uses_fixed_threshold() -> None:
    y, p = _data(9, 80)
    result = evaluate_binary(ModelPredictions(SplitPredictions(y, p)), n_resamples=10)
    assert result.threshold.source == "default"
    assert result.threshold.value == 0.5
    assert "no validation" in result.threshold.describe()


def test_rates_from_counts_hand_example_and_zero_denominators() -> None:
    rates = rates_from_counts(np.array([[50, 10, 5, 35], [10, 0, 0, 0]]))
    assert rates["sensitivity"][0] == pytest.approx(35 / 40)
    assert rates["specificity"][0] == pytest.approx(50 / 60)
    assert rates["ppv"][0] == pytest.approx(35 / 45)
    assert rates["npv"][0] == pytest.approx(50 / 55)
    assert rates["f1"][0] == pytest.approx(70 / 85)
    assert np.isnan(rates["sensitivity"][1]) and np.isnan(rates["ppv"][1])
    assert rates["specificity"][1] == 1.0


def test_result_serialises_to_strict_json() -> None:
    import json

    y, p = _data(10, 60)
    data = evaluate_binary(ModelPredictions(SplitPredictions(y, p)), n_resamples=10).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert "primary_resamples" not in data
    assert set(data["auroc"]) == {"value", "low", "high"}
    assert json.loads(text)["confusion_matrix"] == data["confusion_matrix"]


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        ([0, 1, 2], [0.1, 0.2, 0.3], "y_true row 2 is 2"),
        ([0, 1, 1], [0.1, 1.2, 0.3], "probabilities in [0, 1]"),
        ([0, 1, 1], [0.1, 0.2], "shape [N]"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "nan or inf at row 1"),
        (["a", "b"], [0.1, 0.2], "integer class labels"),
    ],
)
def test_bad_predictions_raise_one_line_errors(y: list, p: list, message: str) -> None:
    with pytest.raises(EvaluationError, match="fused test predictions") as info:
        evaluate_binary(ModelPredictions(SplitPredictions(y, p)), n_resamples=5, label="fused")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_threshold_errors() -> None:
    with pytest.raises(EvaluationError, match="unknown rule 'best'"):
        choose_threshold([0, 1], [0.1, 0.9], "best")
    with pytest.raises(EvaluationError, match="one class only"):
        choose_threshold([1, 1], [0.1, 0.9], "youden")
    with pytest.raises(EvaluationError, match="target_sensitivity"):
        choose_threshold([0, 1], [0.1, 0.9], "sensitivity", target_sensitivity=1.5)
