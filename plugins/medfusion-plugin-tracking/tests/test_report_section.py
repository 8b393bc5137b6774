"""The ``paired_tests`` report section: binary tasks only, one bullet when a pair cannot be tested,
and registering it keeps the hooks free of numpy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from medfusion_plugin_evaluation.api import ModelPredictions, SplitPredictions
from medfusion_plugin_tracking import hooks
from medfusion_plugin_tracking.report_section import PairedTests

from medfusion_core.kinds.report import ReportContext, check_report_part


def _context(task: str, models: dict[str, ModelPredictions], tmp_path: Path) -> ReportContext:
    threshold = {"threshold": {"value": 0.5}}
    return ReportContext(
        title="t", task=task, reference="fused", class_names=None, predictions=models,
        metrics={"models": {label: threshold for label in models}, "comparisons": []},
        history={}, out_dir=tmp_path,
    )  # fmt: skip


def test_the_section_is_registered_and_follows_the_protocol() -> None:
    (spec,) = hooks.medfusion_register_reports()
    assert (spec.name, spec.kind) == ("paired_tests", "report")
    check_report_part(spec.load()())


def test_multiclass_regression_and_a_single_model_give_no_section(tmp_path: Path) -> None:
    y = np.arange(6) % 3
    multiclass = ModelPredictions(SplitPredictions(y, np.full((6, 3), 1 / 3)))
    assert (
        PairedTests().render(_context("multiclass", {"fused": multiclass, "x": multiclass}, tmp_path)) is None
    )
    regression = ModelPredictions(SplitPredictions(y * 1.0, y * 1.0))
    assert (
        PairedTests().render(_context("regression", {"fused": regression, "x": regression}, tmp_path)) is None
    )
    binary = ModelPredictions(SplitPredictions([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]))
    assert PairedTests().render(_context("binary", {"fused": binary}, tmp_path)) is None


def test_a_pair_that_cannot_be_tested_is_one_bullet(tmp_path: Path) -> None:
    one_positive = ModelPredictions(SplitPredictions([0, 0, 0, 1], [0.1, 0.3, 0.2, 0.8]))
    section = PairedTests().render(
        _context("binary", {"fused": one_positive, "image-only": one_positive}, tmp_path)
    )
    assert section is not None and section.tables == [] and section.metrics == {}
    assert section.bullets == [
        "fused vs image-only: not tested (DeLong's test needs at least 2 positive and 2 negative "
        "patients, got 1 and 3)"
    ]


def test_the_hooks_import_no_numpy() -> None:
    code = "import sys, medfusion_plugin_tracking.hooks\nassert 'numpy' not in sys.modules\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
