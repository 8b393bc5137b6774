"""DeLong and McNemar, each checked against an independent computation written differently."""

from __future__ import annotations

import math

import numpy as np
import pytest
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.stats import (
    PatientScores,
    compare_models,
    delong_test,
    mcnemar_test,
    midranks,
)


def _example() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fixed example: 35 positives, 45 negatives, two correlated models, scores with ties."""
    rng = np.random.default_rng(20140601)
    labels = np.array([1] * 35 + [0] * 45)
    signal = rng.normal(size=80) + 1.2 * labels
    score_a = np.round(signal + 0.6 * rng.normal(size=80), 1)
    score_b = np.round(0.5 * signal + rng.normal(size=80), 1)
    return labels, score_a, score_b


def _delong_1988(labels, score_a, score_b) -> dict[str, float]:
    """DeLong, DeLong & Clarke-Pearson (1988) by definition: placement values from every
    positive-negative pair (psi = 1, 1/2, 0), then the structural components' covariances."""
    positives = [i for i, y in enumerate(labels) if y == 1]
    negatives = [j for j, y in enumerate(labels) if y == 0]
    m, n = len(positives), len(negatives)

    def psi(x: float, y: float) -> float:
        return 1.0 if x > y else (0.5 if x == y else 0.0)

    v10, v01, auc = {}, {}, {}
    for name, score in (("a", score_a), ("b", score_b)):
        v10[name] = [sum(psi(score[i], score[j]) for j in negatives) / n for i in positives]
        v01[name] = [sum(psi(score[i], score[j]) for i in positives) / m for j in negatives]
        auc[name] = sum(v10[name]) / m

    def cov(components, count, r, s):
        return sum((components[r][k] - auc[r]) * (components[s][k] - auc[s]) for k in range(count)) / (
            count - 1
        )

    var = {(r, s): cov(v10, m, r, s) / m + cov(v01, n, r, s) / n for r in ("a", "b") for s in ("a", "b")}
    se = math.sqrt(var["a", "a"] + var["b", "b"] - 2 * var["a", "b"])
    z = (auc["a"] - auc["b"]) / se
    p = 2 * (1 - 0.5 * (1 + math.erf(abs(z) / math.sqrt(2))))
    return {"auc_a": auc["a"], "auc_b": auc["b"], "se": se, "z": z, "p_value": p}


def test_delong_matches_the_1988_definition_to_1e6() -> None:
    labels, score_a, score_b = _example()
    fast = delong_test(labels, score_a, score_b)
    reference = _delong_1988(labels.tolist(), score_a.tolist(), score_b.tolist())
    for field, value in reference.items():
        assert getattr(fast, field) == pytest.approx(value, abs=1e-6), field
    half = 1.959963984540054 * reference["se"]
    difference = reference["auc_a"] - reference["auc_b"]
    assert fast.ci_low == pytest.approx(difference - half, abs=1e-6)
    assert fast.ci_high == pytest.approx(difference + half, abs=1e-6)
    assert (fast.n_positive, fast.n_negative) == (35, 45)
    assert 0.0 < fast.p_value < 1.0 and fast.auc_a > fast.auc_b


def test_delong_on_a_tiny_hand_example() -> None:
    # positives score 0.9, 0.6; negatives 0.6, 0.2: AUROC(A) = (1 + 1 + 0.5 + 1) / 4.
    result = delong_test([1, 1, 0, 0], [0.9, 0.6, 0.6, 0.2], [0.9, 0.6, 0.6, 0.2])
    assert result.auc_a == result.auc_b == 0.875
    assert (result.difference, result.se, result.p_value) == (0.0, 0.0, 1.0)


def test_delong_rejects_bad_input() -> None:
    with pytest.raises(TrackingError, match="at least 2 positive"):
        delong_test([1, 0, 0], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3])
    with pytest.raises(TrackingError, match="0/1"):
        delong_test([2, 0, 1, 0], [0.1] * 4, [0.1] * 4)
    with pytest.raises(TrackingError, match="one length"):
        delong_test([1, 0, 1, 0], [0.1] * 4, [0.1] * 3)


def test_midranks_average_ties() -> None:
    assert midranks(np.array([3.0, 1.0, 3.0, 2.0, 3.0])).tolist() == [4.0, 1.0, 4.0, 2.0, 4.0]


def _direct_binomial_p(a_only: int, b_only: int) -> float:
    """Sum of the probabilities of every outcome no more likely than the observed one."""
    trials = a_only + b_only
    observed = math.comb(trials, a_only) / 2**trials
    return min(
        1.0,
        sum(
            math.comb(trials, k) / 2**trials
            for k in range(trials + 1)
            if math.comb(trials, k) / 2**trials <= observed * (1 + 1e-12)
        ),
    )


def _predictions(a_only: int, b_only: int, both_right: int, both_wrong: int):
    """Labels all 1; a score of 1.0 is a right prediction at threshold 0.5."""
    pairs = (
        [(1.0, 0.0)] * a_only + [(0.0, 1.0)] * b_only + [(1.0, 1.0)] * both_right + [(0.0, 0.0)] * both_wrong
    )
    return [1] * len(pairs), [a for a, _ in pairs], [b for _, b in pairs]


@pytest.mark.parametrize(("a_only", "b_only"), [(7, 1), (1, 7), (3, 3), (0, 0), (12, 4), (0, 9)])
def test_mcnemar_exact_matches_a_direct_binomial_sum(a_only: int, b_only: int) -> None:
    labels, score_a, score_b = _predictions(a_only, b_only, 20, 5)
    result = mcnemar_test(labels, score_a, score_b, 0.5, 0.5)
    assert (result.a_only, result.b_only, result.method) == (a_only, b_only, "exact binomial")
    assert result.p_value == pytest.approx(_direct_binomial_p(a_only, b_only), abs=1e-12)
    assert result.accuracy_a == pytest.approx((a_only + 20) / (a_only + b_only + 25))


def test_mcnemar_chi_square_with_continuity_correction() -> None:
    labels, score_a, score_b = _predictions(30, 12, 50, 8)
    result = mcnemar_test(labels, score_a, score_b, 0.5, 0.5)
    assert result.method == "chi-square with continuity correction"
    assert result.statistic == pytest.approx(17**2 / 42)
    normal_tail = 1 - 0.5 * (1 + math.erf(math.sqrt(17**2 / 42) / math.sqrt(2)))
    assert result.p_value == pytest.approx(2 * normal_tail, abs=1e-12)


def test_mcnemar_uses_each_models_threshold() -> None:
    labels = [1, 1, 0, 0]
    result = mcnemar_test(labels, [0.7, 0.6, 0.5, 0.1], [0.3, 0.25, 0.1, 0.05], 0.55, 0.2)
    assert (result.a_only, result.b_only, result.accuracy_a, result.accuracy_b) == (0, 0, 1.0, 1.0)


def test_compare_models_aligns_patients_and_refuses_unpaired_sets() -> None:
    labels, score_a, score_b = _example()
    ids = [f"p{index:03d}" for index in range(len(labels))]
    a = PatientScores(ids, labels.tolist(), score_a.tolist(), 0.5)
    order = list(reversed(range(len(ids))))  # B's rows in another order
    b = PatientScores(
        [ids[i] for i in order], [int(labels[i]) for i in order], [float(score_b[i]) for i in order], 0.2
    )
    compared = compare_models(a, b)
    assert compared.n_patients == 80
    assert compared.delong == delong_test(labels, score_a, score_b)
    assert compared.mcnemar == mcnemar_test(labels, score_a, score_b, 0.5, 0.2)
    fewer = PatientScores(ids[:-1], labels.tolist()[:-1], score_b.tolist()[:-1], 0.2)
    with pytest.raises(
        TrackingError, match=r"different patients \(1 only in A, 0 only in B; only in A: p079\)"
    ):
        compare_models(a, fewer)
    flipped = PatientScores(ids, [1 - int(y) for y in labels], score_b.tolist(), 0.2)
    with pytest.raises(TrackingError, match="disagree on the label of 80 patients"):
        compare_models(a, flipped)


def test_auroc_of_the_hanley_mcneil_1982_ratings() -> None:
    """A published example: Hanley & McNeil (1982), Radiology 143:29-36, Table 1 — 109 CT images
    rated on a 5-point scale from "definitely normal" (1) to "definitely abnormal" (5): 58 normal
    images rated 33, 6, 6, 11, 2 and 51 abnormal ones rated 3, 2, 2, 11, 33 times; the paper
    gives the area under the ROC curve as 0.893. (It gives no DeLong SE; its SE 0.032 comes from
    its own approximation, so only the area is checked against the paper, and the exact
    Mann-Whitney fraction against a direct count by category.)"""
    normal, abnormal = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]
    labels = [0] * sum(normal) + [1] * sum(abnormal)
    ratings = [r for r, count in enumerate(normal, 1) for _ in range(count)]
    ratings += [r for r, count in enumerate(abnormal, 1) for _ in range(count)]
    result = delong_test(labels, ratings, list(reversed(ratings)))
    assert (result.n_positive, result.n_negative) == (51, 58)
    assert round(result.auc_a, 3) == 0.893
    wins = sum(abnormal[i] * (sum(normal[:i]) + normal[i] / 2) for i in range(5))
    assert result.auc_a == pytest.approx(wins / (51 * 58), abs=1e-12)
    reference = _delong_1988(labels, ratings, list(reversed(ratings)))
    for field, value in reference.items():
        assert getattr(result, field) == pytest.approx(value, abs=1e-6), field
