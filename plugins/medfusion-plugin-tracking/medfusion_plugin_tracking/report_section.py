"""The report section ``paired_tests``: the fused model against each baseline on the same test
patients, by DeLong's test, McNemar's test and the report's bootstrap difference side by side.

Binary tasks only: for multiclass and regression tasks (and a run with one model) the section
returns ``None`` and the report is unchanged. Its metrics land in metrics.json under
``sections.paired_tests.<baseline>``.
"""

from __future__ import annotations

from typing import Any

from medfusion_core.kinds.report import ReportContext, ReportSection, ReportTable
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.paired import (
    DELONG_HEADER,
    MCNEMAR_HEADER,
    METHODS,
    comparison_metrics,
    delong_cells,
    mcnemar_cells,
)
from medfusion_plugin_tracking.stats import PatientScores, compare_models


def model_scores(context: ReportContext, label: str) -> PatientScores:
    """Model ``label``'s test predictions and validation threshold as the stats functions take them
    (patient ids by row position when the predictions carry none)."""
    test = context.predictions[label].test
    ids = test.patient_ids
    return PatientScores(
        [str(patient) for patient in ids] if ids is not None else [str(k) for k in range(len(test.y_true))],
        [int(value) for value in test.y_true],
        [float(value) for value in test.scores],
        float(context.metrics["models"][label]["threshold"]["value"]),
    )


def _bootstrap(context: ReportContext, baseline: str) -> dict[str, Any] | None:
    found = [c for c in context.metrics["comparisons"] if c["baseline"] == baseline]
    return found[0]["difference"] if found else None


def _interval(difference: dict[str, Any] | None) -> str:
    if not difference or difference.get("low") is None or difference.get("high") is None:
        return "n/a"
    return f"{difference['value']:+.3f} ({difference['low']:+.3f} to {difference['high']:+.3f})"


class PairedTests:
    """DeLong and McNemar for the reference against each baseline (binary tasks)."""

    title = "Paired tests"
    order = 100

    def render(self, context: ReportContext) -> ReportSection | None:
        """The two tables and their metrics; ``None`` unless binary with a reference and a baseline."""
        reference = context.reference
        baselines = [label for label in context.predictions if label != reference]
        if context.task != "binary" or reference not in context.predictions or not baselines:
            return None
        a = model_scores(context, reference)
        delong_rows, mcnemar_rows, bullets = [], [], []
        metrics: dict[str, Any] = {}
        for baseline in baselines:
            pair = f"{reference} vs {baseline}"
            b = model_scores(context, baseline)
            try:
                compared = compare_models(a, b)
            except TrackingError as exc:
                bullets.append(f"{pair}: not tested ({exc})")
                continue
            thresholds = (a.threshold, b.threshold)
            bootstrap = _bootstrap(context, baseline)
            delong_rows.append([*delong_cells(pair, compared), _interval(bootstrap)])
            mcnemar_rows.append(mcnemar_cells(pair, compared, thresholds))
            metrics[baseline] = {
                **comparison_metrics(compared, thresholds),
                "bootstrap_difference": bootstrap,
            }
        tables = []
        if delong_rows:
            tables = [
                ReportTable(
                    [*DELONG_HEADER, "Bootstrap difference (95% CI)"],
                    delong_rows,
                    "AUROC difference A - B: DeLong beside the paired bootstrap of the summary",
                ),
                ReportTable(
                    MCNEMAR_HEADER, mcnemar_rows, "McNemar's test at each model's validation threshold"
                ),
            ]
        return ReportSection(
            heading="Paired tests on the same test patients",
            paragraphs=[METHODS],
            bullets=bullets,
            tables=tables,
            metrics=metrics,
        )
