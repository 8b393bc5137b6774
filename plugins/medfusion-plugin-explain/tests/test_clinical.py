"""Clinical attributions: the all-missing baseline, integrated-gradients completeness and
permutation importance on a model whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from explain_helpers import batch_of, register, tiny_model
from medfusion_plugin_explain.clinical import (
    all_missing_baseline,
    column_groups,
    integrated_gradients,
    metric,
    permutation_importance,
)

from medfusion_core.data import TabularPreprocessor


@pytest.fixture
def tabular() -> TabularPreprocessor:
    frame = pd.DataFrame(
        {
            "age": [40.0, 50.0, np.nan, 70.0],
            "crp": [1.0, 2.0, 3.0, 4.0],
            "sex": ["F", "M", None, "F"],
        }
    )
    return TabularPreprocessor.fit(frame, ["age", "crp"], ["sex"])


def test_all_missing_baseline_is_what_a_patient_without_values_gets(tabular):
    baseline = all_missing_baseline(tabular)
    names = tabular.feature_names
    assert names == ["age", "crp", "age_missing", "sex=F", "sex=M"]
    age_mean, age_std = np.mean([40, 50, 50, 70]), np.std([40, 50, 50, 70])
    expected = [(50 - age_mean) / age_std, (2.5 - 2.5) / np.std([1, 2, 3, 4]), 1.0, 0.0, 0.0]
    assert torch.allclose(baseline, torch.tensor(expected, dtype=torch.float32), atol=1e-6)
    assert column_groups(tabular) == {"age": [0, 2], "crp": [1], "sex": [3, 4]}


def test_integrated_gradients_completeness(medfusion_host, tabular):
    register(medfusion_host)
    model = tiny_model(modalities="fused", clinical=5).eval()
    generator = torch.Generator().manual_seed(0)
    clinical = torch.randn(6, 5, generator=generator)
    batch = batch_of(torch.randn(6, 1, 1, 16, 16, generator=generator), clinical)
    batch["modality_mask"][5, 1] = False  # a patient without clinical values
    baseline = all_missing_baseline(tabular)
    coarse = integrated_gradients(model, batch, baseline, task="binary", steps=16)
    result = integrated_gradients(model, batch, baseline, task="binary", steps=512)
    delta = result.score - result.baseline_score
    error = result.completeness_error
    coarse_error = float(coarse.completeness_error.max())
    print(
        f"completeness error max {float(error.max()):.2e} at 512 steps, {coarse_error:.2e} at 16 "
        f"(|f(x) - f(b)| max {float(delta.abs().max()):.3f})"
    )
    assert result.values.shape == (6, 5)
    assert (error <= 0.01 * delta.abs() + 1e-4).all()
    assert float(error.sum()) < float(coarse.completeness_error.sum()), "finer integration is closer"
    assert float(delta[:5].abs().min()) > 1e-4, "the inputs move the score"
    assert torch.equal(result.values[5], torch.zeros(5)), "an absent clinical row gets no attribution"


class _FirstColumn(torch.nn.Module):
    """A 'model' whose logit is the first clinical feature."""

    def forward(self, images, view_mask, clinical, modality_mask):
        return clinical[:, :1]


def test_permutation_importance_finds_the_column_the_model_uses():
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(80) % 2
    clinical = torch.randn(80, 3, generator=generator)
    clinical[:, 0] += 3.0 * labels
    batches = [
        {**batch_of(torch.zeros(40, 1, 1, 4, 4), clinical[i : i + 40]), "label": labels[i : i + 40]}
        for i in (0, 40)
    ]
    result = permutation_importance(
        _FirstColumn(), batches, {"a": [0], "b": [1, 2]}, task="binary", repeats=4
    )
    print(result)
    assert result["baseline"]["metric"] > 0.95
    assert result["a"]["mean"] > 0.3
    assert result["b"]["mean"] == 0.0 and result["b"]["std"] == 0.0


def test_metric_auroc_by_hand():
    y = np.array([0, 0, 1, 1])
    assert metric("binary", y, np.array([[0.1], [0.4], [0.35], [0.8]])) == 0.75
    assert metric("binary", y, np.array([[0.5], [0.5], [0.5], [0.5]])) == 0.5
    assert metric("multiclass", np.array([0, 1]), np.array([[2.0, 1.0], [3.0, 0.0]])) == 0.5
    assert metric("regression", np.array([1.0, 2.0]), np.array([[1.0], [4.0]])) == -2.0
