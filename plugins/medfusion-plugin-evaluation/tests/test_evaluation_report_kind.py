"""The ``report`` kind: a third-party plugin adds a section, a figure and metrics to the report;
a failing section is one line in the report and never fails it."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import medfusion_plugin_evaluation.hooks as evaluation_hooks
import numpy as np
import pytest
from medfusion_plugin_evaluation.api import ModelPredictions, SplitPredictions, write_report
from medfusion_plugin_evaluation.parts import FAILED_HEADING

from medfusion_core.kinds.report import ReportContext, ReportSection, check_report_part
from medfusion_core.registry import get_registry

EXTRA = """
import numpy as np
from matplotlib.figure import Figure

from medfusion_core import ComponentSpec, hookimpl
from medfusion_core.kinds.report import ReportSection, ReportTable


class PositiveRate:
    title = "Positive rate"
    order = 15  # between the summary (10) and the models side by side (20)

    def render(self, context):
        rates = {label: float(np.mean(p.test.y_true)) for label, p in context.predictions.items()}
        context.metrics["models"].clear()  # a copy: the written core metrics stay whole
        figure = Figure()
        figure.subplots().bar(list(rates), list(rates.values()))
        return ReportSection(
            heading="Positive rate on test",
            paragraphs=[f"Run folder: {context.run_dir}; AUROC of fused: "
                        f"{context.metrics['task']}"],
            tables=[ReportTable(["Model", "Rate"], [[k, f"{v:.2f}"] for k, v in rates.items()])],
            figures=[context.save_figure("positive_rate", figure, "Positive rate per model")],
            metrics={"rate": {k: np.float64(v) for k, v in rates.items()}, "n": np.int64(7)},
        )


@hookimpl
def medfusion_register_reports():
    return [ComponentSpec("positive_rate", "report", "mf_report_extra:PositiveRate", "Positive rate.")]
"""

BROKEN = """
from medfusion_core import ComponentSpec, hookimpl
from medfusion_core.kinds.report import ReportSection


class Raises:
    title = "Raises"
    order = 5

    def render(self, context):
        raise RuntimeError("section exploded\\nsecond line never shown")


class WrongType:
    title = "Wrong type"
    order = 60

    def render(self, context):
        return "## not a ReportSection"


class NotJson:
    title = "Not JSON"
    order = 70

    def render(self, context):
        return ReportSection(heading="Never shown", metrics={"when": object()})


class StealsAFigureName:
    title = "Steals a figure name"
    order = 80

    def render(self, context):
        return ReportSection(heading="Never shown", figures=[context.save_figure("roc", None, "x")])


@hookimpl
def medfusion_register_reports():
    return [
        ComponentSpec("raises", "report", "mf_report_broken:Raises"),
        ComponentSpec("wrong_type", "report", "mf_report_broken:WrongType"),
        ComponentSpec("not_json", "report", "mf_report_broken:NotJson"),
        ComponentSpec("steals", "report", "mf_report_broken:StealsAFigureName"),
        ComponentSpec("missing", "report", "mf_report_broken:DoesNotExist"),
    ]
"""


def _models(n: int = 80) -> dict[str, ModelPredictions]:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, n)
    sex = rng.choice(["F", "M"], n)

    def model(signal: float) -> ModelPredictions:
        def scores(labels: np.ndarray) -> np.ndarray:
            return 1.0 / (1.0 + np.exp(-(signal * (2 * labels - 1) + rng.normal(0.0, 1.0, n))))

        return ModelPredictions(SplitPredictions(y, scores(y), {"sex": sex}), SplitPredictions(y, scores(y)))

    return {"fused": model(2.0), "image-only": model(0.5)}


def _write(out: Path, models: dict[str, ModelPredictions]):
    return write_report(out, models, task="binary", n_resamples=30, seed=2, subgroups=["sex"])


def _plugin(host, fake_distribution, name: str, source: str) -> None:
    fake_distribution(name, module_source=source)
    host.register(importlib.import_module(name.replace("-", "_")), name)  # rebuilds the registry


def test_a_third_party_section_adds_text_a_figure_and_metrics(medfusion_host, fake_distribution, tmp_path):
    models = _models()
    plain = _write(tmp_path / "plain", models)
    _plugin(medfusion_host, fake_distribution, "mf-report-extra", EXTRA)
    assert [spec.name for spec in get_registry().specs("report")] == ["positive_rate"]

    files = _write(tmp_path / "extra", models)
    markdown = files.markdown.read_text(encoding="utf-8")
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Summary",
        "## Positive rate on test",
        "## Models side by side",
        "## Calibration and operating point",
        "## Plots",
        "## Confusion matrices",
        "## Subgroups",
        "## Classification rates per subgroup",
        "## TRIPOD+AI checklist",
    ]
    assert "| Model | Rate |" in markdown and "![Positive rate per model](positive_rate.png)" in markdown
    assert "Run folder: None" in markdown
    html = files.html.read_text(encoding="utf-8")
    assert "<h2>Positive rate on test</h2>" in html and 'src="positive_rate.png"' in html
    assert (files.out_dir / "positive_rate.png").read_bytes().startswith(b"\x89PNG")

    metrics = json.loads(files.metrics_json.read_text(encoding="utf-8"))
    rate = float(np.mean(models["fused"].test.y_true))
    assert metrics["sections"]["positive_rate"] == {"rate": {"fused": rate, "image-only": rate}, "n": 7}
    assert files.plots["positive_rate"] == files.out_dir / "positive_rate.png"
    assert metrics["plots"] == {**plain.metrics["plots"], "positive_rate": "positive_rate.png"}
    core = ("title", "task", "reference", "settings", "models", "comparisons")
    assert {key: metrics[key] for key in core} == {key: plain.metrics[key] for key in core}
    assert "section_errors" not in metrics and "positive_rate" not in plain.metrics["sections"]
    assert {k: v for k, v in metrics["sections"].items() if k != "positive_rate"} == plain.metrics["sections"]


def test_failing_sections_are_one_line_each_and_the_report_is_complete(
    medfusion_host, fake_distribution, tmp_path
):
    models = _models()
    plain = _write(tmp_path / "plain", models)
    _plugin(medfusion_host, fake_distribution, "mf-report-broken", BROKEN)

    files = _write(tmp_path / "broken", models)
    markdown = files.markdown.read_text(encoding="utf-8")
    before, _, failed = markdown.partition(f"## {FAILED_HEADING}\n")
    assert before.rstrip("\n") == plain.markdown.read_text(encoding="utf-8").rstrip("\n")
    assert failed.strip().splitlines() == [
        "- missing: PluginError: report 'mf-report-broken:missing': cannot import "
        "mf_report_broken:DoesNotExist (AttributeError: module 'mf_report_broken' has no attribute "
        "'DoesNotExist'); reinstall mf-report-broken",
        "- Raises (raises): RuntimeError: section exploded",
        "- Wrong type (wrong_type): TypeError: render returned str, not a ReportSection",
        "- Not JSON (not_json): TypeError: Object of type object is not JSON serializable",
        "- Steals a figure name (steals): ValueError: figure name 'roc': already saved in this report "
        "(roc.png)",
    ]
    metrics = json.loads(files.metrics_json.read_text(encoding="utf-8"))
    assert set(metrics["section_errors"]) == {"missing", "raises", "wrong_type", "not_json", "steals"}
    assert {k: v for k, v in metrics.items() if k != "section_errors"} == plain.metrics
    assert files.plots == {name: tmp_path / "broken" / file for name, file in plain.metrics["plots"].items()}


def test_first_party_sections_come_once_when_the_plugin_is_registered(medfusion_host, tmp_path):
    medfusion_host.register(evaluation_hooks, "medfusion-plugin-evaluation")
    names = {spec.name for spec in get_registry().specs("report")}
    assert names == {"summary", "models", "plots", "confusion", "subgroups"} | {
        "cohort",
        "missing_data",
        "model",
        "calibration",
        "subgroup_rates",
        "tripod_checklist",
    }
    markdown = _write(tmp_path, _models()).markdown.read_text(encoding="utf-8")
    assert markdown.count("## Summary") == 1 and markdown.count("## Plots") == 1


def test_report_parts_follow_the_protocol() -> None:
    for spec in evaluation_hooks.medfusion_register_reports():
        check_report_part(spec.load()())

    class NoOrder:
        title = "x"

        def render(self, context: ReportContext) -> ReportSection | None:
            return None

    class TextOrder(NoOrder):
        order = "10"

    with pytest.raises(TypeError, match="needs title, order and render"):
        check_report_part(NoOrder())
    with pytest.raises(TypeError, match="order an int"):
        check_report_part(TextOrder())


def test_figure_names_are_checked(tmp_path: Path) -> None:
    context = ReportContext(
        title="t", task="binary", reference="fused", class_names=None, predictions={}, metrics={},
        history={}, out_dir=tmp_path,
    )  # fmt: skip
    with pytest.raises(ValueError, match="lower-case letters"):
        context.save_figure("../escape", None, "x")


def test_the_hooks_and_the_report_kind_import_neither_numpy_nor_torch() -> None:
    code = (
        "import sys\n"
        "import medfusion_core.kinds.report, medfusion_plugin_evaluation.hooks\n"
        "assert not {'numpy', 'torch', 'matplotlib'} & set(sys.modules), sorted(sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
