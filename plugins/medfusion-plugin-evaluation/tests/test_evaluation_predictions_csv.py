"""report/predictions.csv: one row per patient and split, one score column per model (per class
for multiclass), exact floats; not written without patient ids."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from medfusion_plugin_evaluation.api import ModelPredictions, SplitPredictions, write_report
from medfusion_plugin_evaluation.prediction_table import PREDICTIONS_FILE


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_binary_predictions_have_every_model_and_exact_scores(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    y = np.array([0, 1] * 10)
    ids = [f"t{k:02d}" for k in range(20)]
    scores = {label: rng.random(20) for label in ("image-only", "fused")}
    models = {
        label: ModelPredictions(
            SplitPredictions(y, p, patient_ids=ids),
            SplitPredictions(y[:8], p[:8], patient_ids=[f"v{k}" for k in range(8)]),
        )
        for label, p in scores.items()
    }
    files = write_report(tmp_path, models, task="binary", n_resamples=5)
    assert files.predictions == tmp_path / PREDICTIONS_FILE
    rows = _rows(files.predictions)
    assert list(rows[0]) == ["patient_id", "split", "label", "fused", "image-only"]  # reference first
    assert [row["split"] for row in rows] == ["test"] * 20 + ["val"] * 8
    assert [row["patient_id"] for row in rows[:20]] == ids
    for label, p in scores.items():
        assert [float(row[label]) for row in rows[:20]] == p.tolist()  # bit for bit
    assert [int(row["label"]) for row in rows[:20]] == y.tolist()


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_multiclass_columns_per_class_and_regression_values(tmp_path: Path, task: str) -> None:
    rng = np.random.default_rng(5)
    ids = [f"p{k}" for k in range(12)]
    if task == "multiclass":
        y, p = np.arange(12) % 3, rng.dirichlet(np.ones(3), 12)
    else:
        y, p = rng.normal(size=12), rng.normal(size=12)
    models = {"fused": ModelPredictions(SplitPredictions(y, p, patient_ids=ids))}
    files = write_report(tmp_path, models, task=task, n_resamples=5, class_names=["a", "b", "c"])
    rows = _rows(files.predictions)
    if task == "multiclass":
        assert list(rows[0])[3:] == ["fused:a", "fused:b", "fused:c"]
        assert [[float(row[f"fused:{c}"]) for c in "abc"] for row in rows] == p.tolist()
    else:
        assert [float(row["fused"]) for row in rows] == p.tolist()
        assert [float(row["label"]) for row in rows] == y.tolist()


def test_no_file_without_patient_ids(tmp_path: Path) -> None:
    y = np.array([0, 1] * 5)
    models = {"fused": ModelPredictions(SplitPredictions(y, np.linspace(0, 1, 10)))}
    files = write_report(tmp_path, models, task="binary", n_resamples=5)
    assert files.predictions is None and not (tmp_path / PREDICTIONS_FILE).exists()
