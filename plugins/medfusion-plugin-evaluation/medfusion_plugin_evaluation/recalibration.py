"""Logistic calibration of predicted probabilities: the calibration slope and the calibration
intercept (calibration-in-the-large), with percentile bootstrap CIs.

Estimators (as in Van Calster et al., "Calibration: the Achilles heel of predictive analytics"):
the slope is ``b`` of the logistic regression ``logit P(y=1) = a + b * logit(p)``; the intercept is
``a`` of ``logit P(y=1) = a + logit(p)`` (the linear predictor as an offset). Both are fitted by
Newton-Raphson, vectorised over bootstrap resamples. A perfectly calibrated model has slope 1 and
intercept 0; a resample whose fit does not converge (separation) is left out of the CI.
"""

from __future__ import annotations

import numpy as np

from medfusion_plugin_evaluation.bootstrap import Estimate, bootstrap, estimate

_EPS = 1e-6
_ITERATIONS = 50


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))


def _fit_slope(y: np.ndarray, lp: np.ndarray) -> np.ndarray:
    """``[r, 2]`` intercept and slope of ``y ~ a + b * lp`` for each row of ``y``/``lp`` ``[r, n]``."""
    a, b = np.zeros(y.shape[0]), np.ones(y.shape[0])
    for _ in range(_ITERATIONS):
        mu = _sigmoid(a[:, None] + b[:, None] * lp)
        w = mu * (1.0 - mu)
        ga, gb = (y - mu).sum(1), ((y - mu) * lp).sum(1)
        haa, hab, hbb = w.sum(1), (w * lp).sum(1), (w * lp * lp).sum(1)
        det = haa * hbb - hab * hab
        with np.errstate(divide="ignore", invalid="ignore"):
            da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        a, b = a + da, b + db
        if np.all(~np.isfinite(da) | (np.abs(da) < 1e-10)) and np.all(
            ~np.isfinite(db) | (np.abs(db) < 1e-10)
        ):
            break
    converged = np.isfinite(a) & np.isfinite(b) & (np.abs(da) < 1e-6) & (np.abs(db) < 1e-6)
    return np.where(converged[:, None], np.stack([a, b], axis=1), np.nan)


def _fit_intercept(y: np.ndarray, lp: np.ndarray) -> np.ndarray:
    """``[r]`` intercept of ``y ~ a + offset(lp)`` for each row."""
    a = np.zeros(y.shape[0])
    for _ in range(_ITERATIONS):
        mu = _sigmoid(a[:, None] + lp)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = (y - mu).sum(1) / (mu * (1.0 - mu)).sum(1)
        a = a + step
        if np.all(~np.isfinite(step) | (np.abs(step) < 1e-10)):
            break
    return np.where(np.isfinite(a) & (np.abs(step) < 1e-6), a, np.nan)


def _statistics(y: np.ndarray, lp: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):  # a diverging (separated) resample becomes nan, which is meant
        return np.stack([_fit_slope(y, lp)[:, 1], _fit_intercept(y, lp)], axis=1)


def calibration_slope_intercept(
    y_true: np.ndarray, probabilities: np.ndarray, *, n_resamples: int, seed: int
) -> tuple[Estimate, Estimate]:
    """The calibration slope and intercept of binary ``probabilities`` with bootstrap CIs."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), _EPS, 1.0 - _EPS)
    lp = np.log(p / (1.0 - p))
    point = _statistics(y[None, :], lp[None, :])[0]
    resampled = bootstrap(_statistics, [y, lp], n_resamples=n_resamples, seed=seed)
    return estimate(point[0], resampled[:, 0]), estimate(point[1], resampled[:, 1])
