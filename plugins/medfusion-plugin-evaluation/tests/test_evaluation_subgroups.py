"""Per-subgroup metrics and the fused-vs-baseline comparison."""

from __future__ import annotations

import numpy as np
import pytest
from medfusion_plugin_evaluation.api import (
    EvaluationError,
    ModelPredictions,
    SplitPredictions,
    evaluate_model,
)
from medfusion_plugin_evaluation.compare import compare, compare_to_baselines
from medfusion_plugin_evaluation.subgroups import MISSING, group_labels
from sklearn.metrics import roc_auc_score


def _binary(seed: int, n: int, signal: float, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n) if y is None else y
    return y, 1.0 / (1.0 + np.exp(-(signal * (2 * y - 1) + rng.normal(0.0, 1.0, y.size))))


def test_subgroup_rows_match_sklearn_on_each_group() -> None:
    y, p = _binary(0, 200, 1.0)
    site = np.array(["A", "B", None, float("nan")] * 50, dtype=object)
    y[np.arange(200) % 4 == 1] = 1  # site B holds positives only: AUROC undefined
    result = evaluate_model(
        ModelPredictions(SplitPredictions(y, p, {"site": site})),
        task="binary",
        n_resamples=100,
        subgroups=["site"],
    )
    rows = {row.group: row for row in result.subgroups["site"]}
    assert set(rows) == {"A", "B", MISSING}
    a = np.arange(200) % 4 == 0
    assert rows["A"].n == 50 and rows["A"].prevalence == pytest.approx(y[a].mean())
    assert rows["A"].metric.value == pytest.approx(roc_auc_score(y[a], p[a]))
    assert rows["A"].metric.low <= rows["A"].metric.value <= rows["A"].metric.high
    assert rows["B"].n_positive == 50 and np.isnan(rows["B"].metric.value)
    assert rows["B"].metric.format() == "n/a"
    missing = np.arange(200) % 4 >= 2
    assert rows[MISSING].n == 100
    assert rows[MISSING].metric.value == pytest.approx(roc_auc_score(y[missing], p[missing]))


def test_group_labels_and_unknown_subgroup_error() -> None:
    assert group_labels(np.array([1, "x", None, "", 2.0], dtype=object)).tolist() == [
        "1",
        "x",
        MISSING,
        MISSING,
        "2.0",
    ]
    y, p = _binary(1, 20, 1.0)
    with pytest.raises(EvaluationError, match=r"no values for subgroup 'sex'.*given: site"):
        evaluate_model(
            ModelPredictions(SplitPredictions(y, p, {"site": ["a"] * 20})),
            task="binary",
            n_resamples=5,
            subgroups=["sex"],
        )
    with pytest.raises(EvaluationError, match="subgroup 'site' has 3 values, expected 20"):
        evaluate_model(
            ModelPredictions(SplitPredictions(y, p, {"site": ["a"] * 3})), task="binary", n_resamples=5
        )


def _evaluate(y: np.ndarray, p: np.ndarray, task: str = "binary") -> object:
    return evaluate_model(ModelPredictions(SplitPredictions(y, p)), task=task, n_resamples=300, seed=4)


def test_paired_comparison_detects_a_clear_win_and_no_clear_difference() -> None:
    y, strong = _binary(2, 400, 2.0)
    _, weak = _binary(3, 400, 0.3, y=y)
    _, similar = _binary(5, 400, 2.0, y=y)
    fused, baseline, twin = _evaluate(y, strong), _evaluate(y, weak), _evaluate(y, similar)
    win = compare("fused", fused, "image-only", baseline, paired=True)
    assert win.verdict == "better" and win.sentence.startswith("Fused beat image-only on AUROC")
    paired_difference = fused.primary_resamples - baseline.primary_resamples
    assert win.difference.value == pytest.approx(fused.auroc.value - baseline.auroc.value)
    assert win.difference.low == pytest.approx(np.nanpercentile(paired_difference, 2.5))
    loss = compare("fused", baseline, "clinical-only", fused, paired=True)
    assert loss.verdict == "worse" and "did worse than" in loss.sentence
    tie = compare("fused", fused, "twin", twin, paired=True)
    assert tie.verdict == "no clear difference" and tie.difference.low < 0 < tie.difference.high
    unpaired = compare("fused", fused, "image-only", baseline, paired=False)
    assert unpaired.verdict == "better (point estimate only)" and "no paired CI" in unpaired.sentence


def test_comparison_respects_lower_is_better_and_pairing_rules() -> None:
    rng = np.random.default_rng(6)
    y = rng.normal(0.0, 1.0, 300)
    good = _evaluate(y, y + rng.normal(0.0, 0.2, 300), "regression")
    bad = _evaluate(y, y + rng.normal(0.0, 1.0, 300), "regression")
    result = compare("fused", good, "image-only", bad, paired=True)
    assert result.verdict == "better" and result.difference.value < 0 and not result.higher_is_better
    tests = {
        "fused": SplitPredictions(y, y, patient_ids=[str(i) for i in range(300)]),
        "same": SplitPredictions(y, y, patient_ids=[str(i) for i in range(300)]),
        "other-ids": SplitPredictions(y, y, patient_ids=[str(i + 1) for i in range(300)]),
        "no-ids": SplitPredictions(y, y),
    }
    evaluations = {"fused": good, "same": bad, "other-ids": bad, "no-ids": bad}
    verdicts = {c.baseline: c.verdict for c in compare_to_baselines(evaluations, tests, "fused")}
    assert verdicts == {"same": "better", "other-ids": "better (point estimate only)", "no-ids": "better"}
    assert compare_to_baselines(evaluations, tests, "missing") == []
