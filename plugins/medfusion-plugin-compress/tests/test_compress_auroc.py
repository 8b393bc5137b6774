"""The AUROC the verification uses agrees with scikit-learn (binary and macro one-vs-rest)."""

from __future__ import annotations

import numpy as np
import pytest
from medfusion_plugin_compress.scoring import auroc
from sklearn.metrics import roc_auc_score

from medfusion_core.errors import ExportError


def test_binary_auroc_matches_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    logits = (labels + rng.normal(0, 1.2, 200)).round(1)[:, None]  # rounded: ties too
    assert auroc("binary", labels, logits) == pytest.approx(roc_auc_score(labels, logits[:, 0]), abs=1e-12)


def test_multiclass_auroc_is_the_macro_one_vs_rest_of_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 150)
    logits = rng.normal(0, 1, (150, 3)) + np.eye(3)[labels]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = roc_auc_score(labels, probs, multi_class="ovr", average="macro")
    assert auroc("multiclass", labels, logits) == pytest.approx(expected, abs=1e-12)


def test_regression_has_no_auroc() -> None:
    with pytest.raises(ExportError, match="regression task has none"):
        auroc("regression", np.zeros(3), np.zeros((3, 1)))
