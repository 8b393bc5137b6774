"""Calibration (reliability bins, ECE, Brier) and decision curves against hand examples and sklearn."""

from __future__ import annotations

import numpy as np
import pytest
from medfusion_plugin_evaluation.api import EvaluationError
from medfusion_plugin_evaluation.binary import operating_point
from medfusion_plugin_evaluation.calibration import expected_calibration_error, reliability_bins
from medfusion_plugin_evaluation.decision import decision_curve
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss


def test_ece_hand_example() -> None:
    # bin [0.1, 0.2): p = 0.1, 0.1 with labels 0, 1 -> |0.5 - 0.1| = 0.4, weight 2/5
    # bin [0.9, 1.0]: p = 0.9, 0.9, 1.0 with labels 1, 1, 1 -> |1 - 0.9333| = 0.0667, weight 3/5
    y = np.array([0, 1, 1, 1, 1])
    p = np.array([0.1, 0.1, 0.9, 0.9, 1.0])
    bins = reliability_bins(y, p, n_bins=10)
    assert bins.counts.tolist() == [0, 2, 0, 0, 0, 0, 0, 0, 0, 3]
    assert bins.fraction_positive[1] == 0.5 and bins.fraction_positive[9] == 1.0
    assert np.isnan(bins.mean_predicted[0])
    expected = 2 / 5 * 0.4 + 3 / 5 * (1.0 - 2.8 / 3)
    assert expected_calibration_error(bins) == pytest.approx(expected)


def test_perfect_calibration_has_zero_ece() -> None:
    y = np.array([0, 0, 0, 1] * 5 + [1, 1, 1, 0] * 5)
    p = np.array([0.25] * 20 + [0.75] * 20)
    assert expected_calibration_error(reliability_bins(y, p)) == pytest.approx(0.0)


def test_reliability_bins_match_sklearn_calibration_curve() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0.0, 1.0, 500)
    y = (rng.uniform(0.0, 1.0, 500) < p**1.5).astype(int)
    bins = reliability_bins(y, p, n_bins=8)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=8, strategy="uniform")
    filled = bins.counts > 0
    np.testing.assert_allclose(bins.fraction_positive[filled], prob_true)
    np.testing.assert_allclose(bins.mean_predicted[filled], prob_pred)
    assert operating_point(y, p >= 0.5, p)[-1] == pytest.approx(brier_score_loss(y, p))


def test_decision_curve_hand_example() -> None:
    # 10 patients, 4 positive. At pt = 0.25 (odds 1/3) treated: p >= 0.25 -> 3 TP, 2 FP.
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.6, 0.3, 0.1, 0.8, 0.25, 0.2, 0.1, 0.05, 0.0])
    curve = decision_curve(y, p, thresholds=[0.25, 0.5])
    assert curve.model[0] == pytest.approx(3 / 10 - 2 / 10 * (1 / 3))
    assert curve.model[1] == pytest.approx(2 / 10 - 1 / 10 * 1.0)
    assert curve.treat_all[0] == pytest.approx(0.4 - 0.6 * (1 / 3))
    assert curve.treat_all[1] == pytest.approx(0.4 - 0.6)
    assert curve.treat_none.tolist() == [0.0, 0.0]


def test_decision_curve_matches_direct_formula_on_default_grid() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    p = np.round(rng.uniform(0, 1, 200), 2)  # values exactly on grid thresholds included
    curve = decision_curve(y, p)
    assert curve.thresholds[0] == 0.01 and curve.thresholds[-1] == 0.99 and curve.thresholds.size == 99
    for pt, benefit in zip(curve.thresholds, curve.model, strict=True):
        treated = p >= pt
        tp = np.sum(treated & (y == 1))
        fp = np.sum(treated & (y == 0))
        assert benefit == pytest.approx(tp / 200 - fp / 200 * pt / (1 - pt))


def test_decision_curve_rejects_thresholds_outside_open_interval() -> None:
    with pytest.raises(EvaluationError, match="strictly between 0 and 1"):
        decision_curve(np.array([0, 1]), np.array([0.2, 0.8]), thresholds=[0.0, 0.5])
