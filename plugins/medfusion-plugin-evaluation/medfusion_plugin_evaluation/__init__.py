"""Clinical evaluation and reports.

Metrics with bootstrap confidence intervals for binary, multi-class and regression tasks,
threshold selection on validation data, calibration, decision curves, subgroups, the fused model
against its unimodal baselines, and reports (JSON, Markdown, HTML, PNG). Only numpy is needed;
matplotlib is imported when plots are written; torch is never imported.
"""

from __future__ import annotations

from medfusion_core.evaluation.binary import BinaryEvaluation, evaluate_binary
from medfusion_core.evaluation.bootstrap import Estimate
from medfusion_core.evaluation.compare import Comparison
from medfusion_core.evaluation.evaluate import Evaluation, evaluate_model
from medfusion_core.evaluation.multiclass import MulticlassEvaluation, evaluate_multiclass
from medfusion_core.evaluation.predictions import EvaluationError, ModelPredictions, SplitPredictions
from medfusion_core.evaluation.regression import RegressionEvaluation, evaluate_regression
from medfusion_core.evaluation.report import ReportFiles, report_options, write_report
from medfusion_core.evaluation.threshold import ThresholdChoice, choose_threshold

__all__ = [
    "BinaryEvaluation",
    "Comparison",
    "Estimate",
    "Evaluation",
    "EvaluationError",
    "ModelPredictions",
    "MulticlassEvaluation",
    "RegressionEvaluation",
    "ReportFiles",
    "SplitPredictions",
    "ThresholdChoice",
    "choose_threshold",
    "evaluate_binary",
    "evaluate_model",
    "evaluate_multiclass",
    "evaluate_regression",
    "report_options",
    "write_report",
]
