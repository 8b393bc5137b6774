"""write_report: files, JSON content, Markdown/HTML tables and plots, lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from medfusion_plugin_evaluation.api import (
    EvaluationError,
    ModelPredictions,
    SplitPredictions,
    evaluate_model,
    report_options,
    write_report,
)

from medfusion_core.config import structure_config

PNG = b"\x89PNG\r\n\x1a\n"


def _binary_models(n: int = 120) -> dict[str, ModelPredictions]:
    rng = np.random.default_rng(0)
    y_val, y_test = rng.integers(0, 2, n), rng.integers(0, 2, n)
    sex = rng.choice(["F", "M"], n)

    def model(signal: float) -> ModelPredictions:
        def probabilities(y: np.ndarray) -> np.ndarray:
            return 1.0 / (1.0 + np.exp(-(signal * (2 * y - 1) + rng.normal(0.0, 1.0, n))))

        return ModelPredictions(
            test=SplitPredictions(y_test, probabilities(y_test), {"sex": sex}),
            validation=SplitPredictions(y_val, probabilities(y_val)),
        )

    return {"image-only": model(0.5), "fused": model(2.0), "clinical-only": model(1.0)}


def _history() -> dict[str, list[dict]]:
    return {
        label: [{"event": "step", "loss": 1.0}]
        + [
            {
                "event": "epoch",
                "epoch_index": e,
                "train_loss": 1 / (e + 1),
                "val_loss": 1.1 / (e + 1),
                "val_auroc": 0.6 + 0.05 * e,
                "best": True,
            }
            for e in range(3)
        ]
        for label in ("fused", "image-only")
    }


def test_binary_report_files_and_content(tmp_path: Path) -> None:
    models = _binary_models()
    out = tmp_path / "report"
    files = write_report(
        out,
        models,
        task="binary",
        n_resamples=60,
        seed=1,
        subgroups=["sex"],
        training_history=_history(),
        title="Demo run",
        class_names=["benign", "malignant"],
    )
    expected_plots = {"roc", "pr", "calibration", "decision_curve", "confusion_matrix", "training_curves"}
    assert set(files.plots) == expected_plots
    for path in files.plots.values():
        assert path.parent == out and path.read_bytes().startswith(PNG)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left

    metrics = json.loads(files.metrics_json.read_text(encoding="utf-8"), parse_constant=pytest.fail)
    assert metrics == files.metrics
    assert list(metrics["models"]) == ["fused", "image-only", "clinical-only"]  # reference first
    fused = evaluate_model(models["fused"], task="binary", n_resamples=60, seed=1, subgroups=["sex"])
    assert metrics["models"]["fused"]["auroc"] == fused.auroc.to_dict()
    assert (
        metrics["models"]["fused"]["at_threshold"]["sensitivity"]
        == fused.at_threshold["sensitivity"].to_dict()
    )
    assert metrics["models"]["fused"]["subgroups"]["sex"][0]["group"] == "F"
    assert {c["baseline"] for c in metrics["comparisons"]} == {"image-only", "clinical-only"}
    assert metrics["plots"]["roc"] == "roc.png"

    markdown = files.markdown.read_text(encoding="utf-8")
    assert markdown.startswith("# Demo run")
    assert "| Metric | fused | image-only | clinical-only |" in markdown
    assert f"| AUROC | {fused.auroc.format()} |" in markdown
    assert "Fused beat image-only on AUROC" in markdown
    assert "| true malignant |" in markdown and "predicted benign" in markdown
    assert "![ROC curves](roc.png)" in markdown and "*Subgroup: sex*" in markdown

    html = files.html.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html and "<script" not in html
    assert fused.auroc.format() in html and "Fused beat image-only" in html
    for path in files.plots.values():
        assert f'src="{path.name}"' in html
    assert 'class="plots"' in html


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_multiclass_and_regression_reports(tmp_path: Path, task: str) -> None:
    rng = np.random.default_rng(1)
    n = 90
    if task == "multiclass":
        y = rng.integers(0, 3, n)
        logits = rng.normal(0.0, 1.0, (n, 3))
        logits[np.arange(n), y] += 2.0
        scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        baseline = np.full((n, 3), 1 / 3)
    else:
        y = rng.normal(0.0, 1.0, n)
        scores = y + rng.normal(0.0, 0.3, n)
        baseline = np.zeros(n)
    models = {
        "fused": ModelPredictions(SplitPredictions(y, scores)),
        "clinical-only": ModelPredictions(SplitPredictions(y, baseline)),
    }
    files = write_report(tmp_path, models, task=task, n_resamples=40, class_names=["a", "b", "c"])
    expected = {"confusion_matrix"} if task == "multiclass" else {"predicted_vs_true"}
    assert set(files.plots) == expected
    comparison = files.metrics["comparisons"][0]
    assert comparison["verdict"] == "better"
    assert comparison["metric"] == ("Macro AUROC (one-vs-rest)" if task == "multiclass" else "MAE")
    markdown = files.markdown.read_text(encoding="utf-8")
    assert "Fused beat clinical-only" in markdown
    if task == "multiclass":
        assert "| true a |" in markdown and "Balanced accuracy" in markdown
    else:
        assert "| R² |" in markdown


def test_report_options_come_from_the_config() -> None:
    config = structure_config(
        {
            "name": "demo",
            "seed": 7,
            "data": {"manifest": "m.csv", "subgroups": ["sex"]},
            "task": {"type": "multiclass", "classes": ["a", "b", "c"]},
            "evaluation": {"bootstrap": 200, "threshold": "sensitivity", "target_sensitivity": 0.95},
        },
        "demo.yaml",
    )
    assert report_options(config) == {
        "task": "multiclass",
        "threshold_rule": "sensitivity",
        "target_sensitivity": 0.95,
        "n_resamples": 200,
        "decision_range": (0.01, 0.99),
        "seed": 7,
        "subgroups": ["sex"],
        "class_names": ["a", "b", "c"],
        "title": "MedFusion evaluation: demo",
    }


def test_report_errors(tmp_path: Path) -> None:
    three = ModelPredictions(SplitPredictions([0, 1], [[0.2, 0.7, 0.1], [0.1, 0.1, 0.8]]))
    with pytest.raises(EvaluationError, match="2 class names for 3 probability columns of fused"):
        write_report(tmp_path, {"fused": three}, task="multiclass", class_names=["a", "b"])
    with pytest.raises(EvaluationError, match="no model predictions"):
        write_report(tmp_path, {}, task="binary")
    with pytest.raises(EvaluationError, match=r"task\.type: 'survival' is not supported"):
        write_report(
            tmp_path, {"fused": ModelPredictions(SplitPredictions([0, 1], [0.2, 0.8]))}, task="survival"
        )


def test_evaluation_imports_neither_torch_nor_matplotlib_until_plotting(tmp_path: Path) -> None:
    code = (
        "import sys, numpy as np\n"
        "from medfusion_plugin_evaluation.api import ModelPredictions, SplitPredictions\n"
        "from medfusion_plugin_evaluation.api import evaluate_model, write_report\n"
        "m = ModelPredictions(SplitPredictions(np.array([0, 1, 0, 1]), np.array([0.1, 0.8, 0.3, 0.6])))\n"
        "evaluate_model(m, task='binary', n_resamples=5)\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported before plotting'\n"
        "r = ModelPredictions(SplitPredictions(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.5])))\n"
        f"write_report({str(tmp_path)!r}, {{'fused': r}}, task='regression', n_resamples=5)\n"
        "assert 'matplotlib' in sys.modules\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    env = {**os.environ, "MEDFUSION_KERNELS": "reference", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_training_series_reads_epoch_records() -> None:
    from medfusion_plugin_evaluation.plots import training_series

    records = [
        {"event": "step", "loss": 3.0},
        {"event": "epoch", "epoch_index": 0, "train_loss": 1.0, "val_auroc": 0.6, "best": True},
        {"event": "checkpoint", "path": "last.pt"},
        {"event": "epoch", "epoch_index": 1, "train_loss": 0.5, "val_loss": 0.7, "best": False},
    ]
    epochs, series = training_series(records)
    assert epochs.tolist() == [1.0, 2.0]
    assert set(series) == {"train_loss", "val_auroc", "val_loss"}
    assert series["train_loss"].tolist() == [1.0, 0.5]
    assert np.isnan(series["val_loss"][0]) and series["val_loss"][1] == 0.7
    assert training_series([{"epoch": 3, "loss": 1.0}, {"loss": 0.5}])[0].tolist() == [3.0, 2.0]


def test_report_pdf_is_a_pdf_holding_every_section_and_figure(tmp_path: Path) -> None:
    from pypdf import PdfReader

    files = write_report(
        tmp_path / "report", _binary_models(60), task="binary", n_resamples=20, subgroups=["sex"]
    )
    assert files.pdf.name == "report.pdf" and files.pdf.parent == files.out_dir
    assert files.pdf.read_bytes().startswith(b"%PDF-")
    reader = PdfReader(files.pdf)
    text = " ".join(page.extract_text() for page in reader.pages)
    squashed = " ".join(text.split())
    headings = [
        line[3:] for line in files.markdown.read_text(encoding="utf-8").splitlines() if line[:3] == "## "
    ]
    assert headings
    for heading in headings:
        assert " ".join(heading.split()) in squashed
    auroc = files.metrics["models"]["fused"]["auroc"]["value"]
    assert f"{auroc:.3f}" in squashed
    images = sum(len(page.images) for page in reader.pages)
    assert images == len(files.plots)
    assert not [p for p in files.out_dir.iterdir() if p.name.startswith(".")]


def test_the_decision_curve_covers_the_configured_threshold_range(tmp_path: Path) -> None:
    config = structure_config(
        {"name": "d", "data": {"manifest": "m.csv"}, "evaluation": {"decision_range": [0.05, 0.5]}}, "d.yaml"
    )
    options = report_options(config)
    assert options["decision_range"] == (0.05, 0.5)
    files = write_report(
        tmp_path, _binary_models(60), task="binary", n_resamples=10, decision_range=(0.05, 0.5)
    )
    thresholds = files.metrics["models"]["fused"]["decision_curve"]["thresholds"]
    assert thresholds[0] == 0.05 and thresholds[-1] == 0.5 and len(thresholds) == 46
    assert files.metrics["settings"]["decision_range"] == [0.05, 0.5]
    assert "threshold probabilities 0.05 to 0.5 (evaluation.decision_range)" in files.markdown.read_text()
    with pytest.raises(
        EvaluationError, match=r"evaluation\.decision_range: \[0\.5, 0\.2\]; give \[low, high\]"
    ):
        write_report(tmp_path, _binary_models(60), task="binary", n_resamples=10, decision_range=(0.5, 0.2))
