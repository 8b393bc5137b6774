"""Bootstrap resampling: shared indices with the AUC kernel, CIs that contain the estimate and narrow."""

from __future__ import annotations

import numpy as np
import pytest
from medfusion_plugin_evaluation.api import ModelPredictions, SplitPredictions, evaluate_binary
from medfusion_plugin_evaluation.binary import operating_point_bootstrap
from medfusion_plugin_evaluation.bootstrap import (
    Estimate,
    bootstrap,
    bootstrap_auc,
    estimate,
    percentile_ci,
    resample_indices,
)

from medfusion_core.kernels import REFERENCE, auc_pair
from medfusion_core.kernels import resample_indices as kernel_indices


def _scores(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, 1.0 / (1.0 + np.exp(-((2 * y - 1) + rng.normal(0.0, 1.2, n))))


def test_resample_indices_follow_the_kernel_scheme_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("medfusion_plugin_evaluation.bootstrap._CHUNK_ELEMENTS", 30)
    chunks = list(resample_indices(10, 7, seed=5))
    assert [chunk.shape for chunk in chunks] == [(3, 10), (3, 10), (1, 10)]
    stacked = np.concatenate(chunks)
    for i in range(7):
        np.testing.assert_array_equal(stacked[i], kernel_indices(5, i, 10))


def test_operating_point_bootstrap_equals_gathered_resamples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("medfusion_plugin_evaluation.bootstrap._CHUNK_ELEMENTS", 500)
    y, p = _scores(80, seed=3)
    predicted = (p >= 0.4).astype(np.int64)
    resampled = operating_point_bootstrap(y, predicted, p, n_resamples=30, seed=4)
    assert resampled.shape == (30, 7)
    for i in range(30):
        idx = kernel_indices(4, i, 80)
        yr, pr, sr = y[idx], predicted[idx], p[idx]
        tp, tn = np.sum((yr == 1) & (pr == 1)), np.sum((yr == 0) & (pr == 0))
        fp, fn = np.sum((yr == 0) & (pr == 1)), np.sum((yr == 1) & (pr == 0))
        expected = [tp / (tp + fn), tn / (tn + fp), tp / (tp + fp), tn / (tn + fn), (tp + tn) / 80]
        expected += [2 * tp / (2 * tp + fp + fn), np.mean((sr - yr) ** 2)]
        np.testing.assert_allclose(resampled[i], expected, rtol=1e-12)


def test_generic_bootstrap_equals_explicit_loop_and_kernel() -> None:
    y, p = _scores(60)
    resampled = bootstrap(lambda yr, pr: np.mean((pr - yr) ** 2, axis=-1), [y, p], n_resamples=25, seed=9)
    for i in range(25):
        idx = kernel_indices(9, i, 60)
        assert resampled[i] == pytest.approx(np.mean((p[idx] - y[idx]) ** 2))
    # the AUC resamples of the active kernel use the same indices
    auroc, auprc = bootstrap_auc(y, p, n_resamples=25, seed=9)
    reference_auroc, reference_auprc = REFERENCE["bootstrap_auc"](y.astype(np.uint8), p, 25, 9)
    np.testing.assert_allclose(auroc, reference_auroc)
    np.testing.assert_allclose(auprc, reference_auprc)
    idx = kernel_indices(9, 3, 60)
    assert auroc[3] == pytest.approx(auc_pair(y[idx].astype(np.uint8), p[idx])[0])


def test_percentile_ci_drops_nan_resamples() -> None:
    values = np.r_[np.arange(1.0, 101.0), np.full(50, np.nan)]
    low, high = percentile_ci(values)
    assert low == pytest.approx(np.percentile(np.arange(1.0, 101.0), 2.5))
    assert high == pytest.approx(np.percentile(np.arange(1.0, 101.0), 97.5))
    assert np.isnan(estimate(0.5, np.full(10, np.nan)).low)
    assert np.isnan(estimate(0.5, np.array([])).high)


def test_estimate_formatting() -> None:
    assert Estimate(0.8123, 0.7571, 0.8649).format() == "0.81 (0.76–0.86)"
    assert Estimate(0.8123, float("nan"), float("nan")).format() == "0.81"
    assert Estimate(float("nan"), float("nan"), float("nan")).format() == "n/a"
    assert Estimate(0.5, float("nan"), 1.0).to_dict() == {"value": 0.5, "low": None, "high": 1.0}


def test_cis_contain_estimates_are_reproducible_and_narrow_with_more_patients() -> None:
    widths = []
    for n in (80, 1200):
        y, p = _scores(n, seed=n)
        result = evaluate_binary(ModelPredictions(SplitPredictions(y, p)), n_resamples=300, seed=1)
        for value in (result.auroc, result.auprc, result.brier, *result.at_threshold.values()):
            assert value.low <= value.value <= value.high
        again = evaluate_binary(ModelPredictions(SplitPredictions(y, p)), n_resamples=300, seed=1)
        assert again.auroc == result.auroc and again.at_threshold == result.at_threshold
        widths.append(
            [result.auroc.high - result.auroc.low, result.brier.high - result.brier.low]
            + [e.high - e.low for e in result.at_threshold.values()]
        )
    small, large = np.array(widths)
    assert np.all(large < small * 0.6)


def test_zero_resamples_give_point_estimates_without_ci() -> None:
    y, p = _scores(50)
    result = evaluate_binary(ModelPredictions(SplitPredictions(y, p)), n_resamples=0)
    assert np.isfinite(result.auroc.value) and np.isnan(result.auroc.low)
    assert np.isnan(result.at_threshold["sensitivity"].high)
