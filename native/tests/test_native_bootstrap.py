"""Native bootstrap AUC: same resamples and results as the numpy reference and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from medfusion_plugin_native import kernels as native
from sklearn.metrics import average_precision_score, roc_auc_score

from medfusion_core.errors import DataError
from medfusion_core.kernels import REFERENCE, resample_indices


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 300),
    st.integers(0, 2**64 - 1),
    st.integers(1, 40),
    st.sampled_from([2, 5, 1000]),
    st.floats(0.02, 0.98),
)
def test_matches_reference_to_1e12(n, seed, n_resamples, levels, prevalence) -> None:
    rng = np.random.default_rng(n)
    y = (rng.random(n) < prevalence).astype(np.uint8)
    scores = np.round(rng.random(n) * levels) / levels + 0.3 * y  # ties whenever levels is small
    ref_roc, ref_pr = REFERENCE["bootstrap_auc"](y, scores, n_resamples, seed)
    roc, pr = native.bootstrap_auc(y, scores, n_resamples, seed)
    np.testing.assert_allclose(roc, ref_roc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(pr, ref_pr, rtol=0, atol=1e-12)
    assert np.array_equal(np.isnan(roc), np.isnan(ref_roc))


def test_each_resample_equals_sklearn_on_the_documented_indices() -> None:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 500)
    scores = np.round(rng.normal(size=500) + y, 1)
    roc, pr = native.bootstrap_auc(y, scores, 25, seed=123)
    for i in range(25):
        idx = resample_indices(123, i, 500)
        assert roc[i] == pytest.approx(roc_auc_score(y[idx], scores[idx]), abs=1e-12)
        assert pr[i] == pytest.approx(average_precision_score(y[idx], scores[idx]), abs=1e-12)


def test_single_class_resamples_are_nan_and_bool_labels_work() -> None:
    roc, pr = native.bootstrap_auc(np.ones(10, bool), np.linspace(0, 1, 10), 3, 0)
    assert np.isnan(roc).all() and np.isnan(pr).all()
    roc, _ = native.bootstrap_auc(np.array([True, False]), np.array([0.9, 0.1]), 50, 0)
    assert set(np.unique(roc[~np.isnan(roc)])) <= {1.0}


@pytest.mark.parametrize(
    ("y", "scores", "message"),
    [
        ([0, 1, 2], [0.1, 0.2, 0.3], r"y_true\[2\]"),
        ([0, 1], [0.1, float("nan")], r"scores\[1\] is NaN"),
        ([0, 1, 1], [0.1, 0.2], "equal length"),
    ],
)
def test_invalid_inputs_raise_data_error_in_both_backends(y, scores, message) -> None:
    for kernel in (native.bootstrap_auc, REFERENCE["bootstrap_auc"]):
        with pytest.raises(DataError, match=message):
            kernel(np.array(y), np.array(scores), 5, 0)
