"""Clinical evaluation and reports: the public names (the ``evaluate`` command is in :mod:`.command`).

Metrics with bootstrap confidence intervals for binary, multi-class and regression tasks,
threshold selection on validation data, calibration, decision curves, subgroups, the fused model
against its unimodal baselines, and reports (JSON, Markdown, HTML, PNG) assembled from ``report``
components (:mod:`.parts`, :mod:`.sections`). Only numpy is needed; matplotlib is imported when
plots are written; torch is never imported here (:func:`.run.evaluate_run` scores a trained run).
"""

from __future__ import annotations

from medfusion_plugin_evaluation.binary import BinaryEvaluation, evaluate_binary
from medfusion_plugin_evaluation.bootstrap import Estimate
from medfusion_plugin_evaluation.compare import Comparison
from medfusion_plugin_evaluation.evaluate import Evaluation, evaluate_model
from medfusion_plugin_evaluation.multiclass import MulticlassEvaluation, evaluate_multiclass
from medfusion_plugin_evaluation.predictions import EvaluationError, ModelPredictions, SplitPredictions
from medfusion_plugin_evaluation.regression import RegressionEvaluation, evaluate_regression
from medfusion_plugin_evaluation.report import ReportFiles, report_options, write_report
from medfusion_plugin_evaluation.threshold import ThresholdChoice, choose_threshold

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
