"""Regression: MAE, RMSE, R² and Pearson r with bootstrap CIs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from medfusion_plugin_evaluation.bootstrap import Estimate, bootstrap, estimate
from medfusion_plugin_evaluation.predictions import ModelPredictions
from medfusion_plugin_evaluation.result import INTERNAL, Result
from medfusion_plugin_evaluation.subgroups import SubgroupRow, subgroup_metrics

#: Regression metrics, in report order.
REGRESSION_METRICS: tuple[str, ...] = ("mae", "rmse", "r2", "pearson_r")


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """``[..., 4]`` MAE, RMSE, R² and Pearson r over the last axis (``nan`` when y is constant)."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    error = p - y
    y_centred = y - y.mean(axis=-1, keepdims=True)
    p_centred = p - p.mean(axis=-1, keepdims=True)
    total = np.sum(y_centred**2, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - np.sum(error**2, axis=-1) / total
        pearson = np.sum(y_centred * p_centred, axis=-1) / np.sqrt(total * np.sum(p_centred**2, axis=-1))
    return np.stack(
        [np.mean(np.abs(error), axis=-1), np.sqrt(np.mean(error**2, axis=-1)), r2, pearson], axis=-1
    )


def mae_estimate(
    y_true: np.ndarray, predicted: np.ndarray, n_resamples: int, seed: int
) -> tuple[Estimate, np.ndarray]:
    """MAE with its CI and resamples."""
    resamples = bootstrap(
        lambda y, p: np.mean(np.abs(p - y), axis=-1), [y_true, predicted], n_resamples=n_resamples, seed=seed
    )
    return estimate(float(np.mean(np.abs(predicted - y_true))), resamples), resamples


@attrs.frozen
class RegressionEvaluation(Result):
    """Everything measured for one regression model on the test set."""

    PRIMARY: ClassVar[tuple[str, bool]] = ("MAE", False)

    n: int
    mae: Estimate
    rmse: Estimate
    r2: Estimate
    pearson_r: Estimate
    subgroups: dict[str, list[SubgroupRow]]
    primary_resamples: np.ndarray = attrs.field(metadata=INTERNAL, repr=False)

    @property
    def primary(self) -> Estimate:
        """The headline metric (MAE, lower is better) used to compare models."""
        return self.mae

    def summary_rows(self) -> list[tuple[str, Any]]:
        """``(label, value)`` rows of the report's comparison table."""
        return [
            ("Patients (test)", self.n),
            ("MAE", self.mae),
            ("RMSE", self.rmse),
            ("R²", self.r2),
            ("Pearson r", self.pearson_r),
        ]


def evaluate_regression(
    predictions: ModelPredictions,
    *,
    n_resamples: int = 2000,
    seed: int = 0,
    subgroups: Sequence[str] = (),
    label: str = "model",
) -> RegressionEvaluation:
    """Evaluate a regression model on ``predictions.test`` (scores are predicted values ``[N]``)."""
    test = predictions.test.check("regression", f"{label} test predictions")
    y, p = test.y_true, test.scores
    point = regression_metrics(y, p)
    resampled = bootstrap(regression_metrics, [y, p], n_resamples=n_resamples, seed=seed)
    mae, rmse, r2, pearson = (estimate(point[k], resampled[:, k]) for k in range(4))
    return RegressionEvaluation(
        n=int(y.size),
        mae=mae,
        rmse=rmse,
        r2=r2,
        pearson_r=pearson,
        subgroups=subgroup_metrics(
            test, subgroups, mae_estimate, binary=False, n_resamples=n_resamples, seed=seed, where=label
        ),
        primary_resamples=resampled[:, 0],
    )
