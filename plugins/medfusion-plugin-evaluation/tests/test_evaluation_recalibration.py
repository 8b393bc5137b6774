"""Calibration slope and intercept against scikit-learn's unpenalised logistic regression and the
intercept's score equation."""

from __future__ import annotations

import numpy as np
from medfusion_plugin_evaluation.recalibration import calibration_slope_intercept
from sklearn.linear_model import LogisticRegression


def test_slope_and_intercept_match_independent_fits():
    rng = np.random.default_rng(0)
    lp = rng.normal(0.0, 2.0, 300)
    y = (rng.random(300) < 1.0 / (1.0 + np.exp(-(0.4 + 0.6 * lp)))).astype(int)
    p = 1.0 / (1.0 + np.exp(-lp))
    slope, intercept = calibration_slope_intercept(y, p, n_resamples=200, seed=1)
    oracle = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(lp[:, None], y)
    assert abs(slope.value - oracle.coef_[0, 0]) < 1e-4
    assert slope.low < slope.value < slope.high and slope.high < 1.0  # over-confident: slope < 1
    fitted = 1.0 / (1.0 + np.exp(-(intercept.value + lp)))
    assert abs(np.sum(y - fitted)) < 1e-6  # the offset model's score equation at its MLE
    assert intercept.low < intercept.value < intercept.high and intercept.low > 0.0


def test_a_calibrated_model_has_slope_one_and_intercept_zero_within_its_ci():
    rng = np.random.default_rng(4)
    p = rng.uniform(0.02, 0.98, 2000)
    y = (rng.random(2000) < p).astype(int)
    slope, intercept = calibration_slope_intercept(y, p, n_resamples=200, seed=0)
    assert slope.low < 1.0 < slope.high and intercept.low < 0.0 < intercept.high
