"""Comparing two models on the same test patients: DeLong's test and McNemar's test.

- :func:`delong_test`: the difference of two correlated AUROCs, its standard error, a two-sided
  p-value and a 95% confidence interval, by the fast DeLong algorithm (Sun & Xu 2014, IEEE Signal
  Processing Letters 21(11)), which computes DeLong's (1988) structural components from midranks
  in O(n log n) instead of comparing every positive with every negative.
- :func:`mcnemar_test`: whether the two models make different errors at their own thresholds;
  exact binomial for fewer than ``exact_below`` discordant patients, chi-square with continuity
  correction otherwise (the result says which).
- :func:`compare_models`: both tests on two models' test predictions, aligned by patient id.

numpy and the standard library only.
"""

from __future__ import annotations

import math
from fractions import Fraction

import attrs
import numpy as np
from numpy.typing import ArrayLike

from medfusion_plugin_tracking.errors import TrackingError

#: The 97.5% quantile of the standard normal distribution (for 95% intervals).
Z_975 = 1.959963984540054


@attrs.frozen
class DeLongResult:
    """AUROC of model A and B, their difference A - B with SE, z, two-sided p and 95% CI."""

    auc_a: float
    auc_b: float
    difference: float
    se: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float
    n_positive: int
    n_negative: int


@attrs.frozen
class McNemarResult:
    """Discordant counts (``a_only``: A right and B wrong; ``b_only``: the reverse) and the test."""

    a_only: int
    b_only: int
    statistic: float
    p_value: float
    method: str
    accuracy_a: float
    accuracy_b: float


def _binary_labels(y_true: ArrayLike) -> np.ndarray:
    labels = np.asarray(y_true)
    values = set(np.unique(labels).tolist())
    if not values <= {0, 1}:
        raise TrackingError(f"labels must be 0/1, got values {sorted(values)[:5]}")
    return labels.astype(bool)


def midranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks where tied values share the mean of the ranks they span."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    return (last - (counts - 1) / 2.0)[inverse]


def _structural_components(
    positives: np.ndarray, negatives: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """AUROC and DeLong's components V10 (per positive) and V01 (per negative), from midranks."""
    m, n = len(positives), len(negatives)
    combined = midranks(np.concatenate([positives, negatives]))
    v10 = (combined[:m] - midranks(positives)) / n
    v01 = 1.0 - (combined[m:] - midranks(negatives)) / m
    return float(v10.mean()), v10, v01


def delong_test(y_true: ArrayLike, score_a: ArrayLike, score_b: ArrayLike) -> DeLongResult:
    """DeLong's test of AUROC(A) = AUROC(B) for two models scored on the same patients."""
    labels = _binary_labels(y_true)
    a, b = np.asarray(score_a, dtype=float), np.asarray(score_b, dtype=float)
    if not (a.shape == b.shape == labels.shape) or labels.ndim != 1:
        raise TrackingError(
            f"labels and both scores must be 1-D of one length, got {labels.shape}, {a.shape}, {b.shape}"
        )
    m, n = int(labels.sum()), int((~labels).sum())
    if m < 2 or n < 2:
        raise TrackingError(
            f"DeLong's test needs at least 2 positive and 2 negative patients, got {m} and {n}"
        )
    auc_a, v10_a, v01_a = _structural_components(a[labels], a[~labels])
    auc_b, v10_b, v01_b = _structural_components(b[labels], b[~labels])
    s10 = np.cov(np.vstack([v10_a, v10_b]))
    s01 = np.cov(np.vstack([v01_a, v01_b]))
    covariance = s10 / m + s01 / n
    variance = float(covariance[0, 0] + covariance[1, 1] - 2.0 * covariance[0, 1])
    difference = auc_a - auc_b
    se = math.sqrt(max(variance, 0.0))
    if se == 0.0:
        z, p_value = 0.0, 1.0
    else:
        z = difference / se
        p_value = math.erfc(abs(z) / math.sqrt(2.0))
    return DeLongResult(
        auc_a=auc_a,
        auc_b=auc_b,
        difference=difference,
        se=se,
        z=z,
        p_value=p_value,
        ci_low=difference - Z_975 * se,
        ci_high=difference + Z_975 * se,
        n_positive=m,
        n_negative=n,
    )


def _exact_binomial_p(a_only: int, b_only: int) -> float:
    """Two-sided exact p of ``min(a_only, b_only)`` successes in ``a_only + b_only`` fair trials."""
    trials = a_only + b_only
    tail = sum(math.comb(trials, k) for k in range(min(a_only, b_only) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**trials)))


def mcnemar_test(
    y_true: ArrayLike,
    score_a: ArrayLike,
    score_b: ArrayLike,
    threshold_a: float,
    threshold_b: float,
    *,
    exact_below: int = 25,
) -> McNemarResult:
    """McNemar's test of the two models' errors, each predicting positive at ``score >= threshold``."""
    labels = _binary_labels(y_true)
    right_a = (np.asarray(score_a, dtype=float) >= threshold_a) == labels
    right_b = (np.asarray(score_b, dtype=float) >= threshold_b) == labels
    a_only, b_only = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    discordant = a_only + b_only
    if discordant < exact_below:
        statistic, p_value = float(min(a_only, b_only)), _exact_binomial_p(a_only, b_only)
        method = "exact binomial"
    else:
        statistic = (abs(a_only - b_only) - 1.0) ** 2 / discordant
        p_value = math.erfc(math.sqrt(statistic / 2.0))
        method = "chi-square with continuity correction"
    return McNemarResult(
        a_only=a_only,
        b_only=b_only,
        statistic=statistic,
        p_value=p_value,
        method=method,
        accuracy_a=float(right_a.mean()),
        accuracy_b=float(right_b.mean()),
    )


@attrs.frozen
class PatientScores:
    """One model's test-set predictions: patient ids, 0/1 labels, scores, its validation threshold."""

    patient_ids: list[str]
    labels: list[int]
    scores: list[float]
    threshold: float


@attrs.frozen
class PairedComparison:
    """DeLong and McNemar for two models on the same ``n_patients`` test patients."""

    n_patients: int
    delong: DeLongResult
    mcnemar: McNemarResult


def _by_patient(predictions: PatientScores, name: str) -> dict[str, tuple[int, float]]:
    rows = dict(
        zip(predictions.patient_ids, zip(predictions.labels, predictions.scores, strict=True), strict=True)
    )
    if len(rows) != len(predictions.patient_ids):
        raise TrackingError(f"model {name}: a patient id appears twice in the test predictions")
    return rows


def _some(patients: list[str], shown: int = 5) -> str:
    """``p1, p2, p3`` or ``p1, ..., p5 and 7 more``."""
    more = f" and {len(patients) - shown} more" if len(patients) > shown else ""
    return ", ".join(patients[:shown]) + more


def compare_models(a: PatientScores, b: PatientScores) -> PairedComparison:
    """Align two models' test predictions by patient and run :func:`delong_test` and
    :func:`mcnemar_test` (each model at its own threshold). The test patients and their labels
    must be the same for both models, or the comparison is not paired and is refused."""
    rows_a, rows_b = _by_patient(a, "A"), _by_patient(b, "B")
    if rows_a.keys() != rows_b.keys():
        only_a, only_b = sorted(rows_a.keys() - rows_b.keys()), sorted(rows_b.keys() - rows_a.keys())
        named = "; ".join(
            f"only in {name}: {_some(patients)}"
            for name, patients in (("A", only_a), ("B", only_b))
            if patients
        )
        raise TrackingError(
            f"the models were tested on different patients ({len(only_a)} only in A, {len(only_b)} only "
            f"in B; {named}): a paired comparison needs the same test split"
        )
    patients = sorted(rows_a)
    disagree = [patient for patient in patients if rows_a[patient][0] != rows_b[patient][0]]
    if disagree:
        raise TrackingError(
            f"the two prediction sets disagree on the label of {len(disagree)} patients, e.g. {disagree[0]}"
        )
    labels = [rows_a[patient][0] for patient in patients]
    scores_a = [rows_a[patient][1] for patient in patients]
    scores_b = [rows_b[patient][1] for patient in patients]
    return PairedComparison(
        n_patients=len(patients),
        delong=delong_test(labels, scores_a, scores_b),
        mcnemar=mcnemar_test(labels, scores_a, scores_b, a.threshold, b.threshold),
    )
