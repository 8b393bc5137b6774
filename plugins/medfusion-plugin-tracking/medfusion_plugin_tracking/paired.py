"""Two models' test predictions compared, as the report section and ``runs compare`` show it.

- :func:`read_predictions`: one model's test scores from a run's ``report/predictions.csv``
  (written by ``medfusion evaluate``) and its validation threshold from ``report/metrics.json``;
- :func:`comparison_metrics`: a :class:`~.stats.PairedComparison` as JSON-ready metrics;
- :data:`DELONG_HEADER` / :func:`delong_cells` and :data:`MCNEMAR_HEADER` / :func:`mcnemar_cells`:
  the rows of the two tables.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import attrs

from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.stats import PairedComparison, PatientScores

REPORT_DIR = "report"
PREDICTIONS_FILE = "predictions.csv"
METRICS_FILE = "metrics.json"
#: How both tests are described under their tables.
METHODS = (
    "DeLong's test (fast DeLong, Sun & Xu 2014) of the AUROC difference A - B on the same test "
    "patients: standard error, 95% confidence interval (difference ± 1.96 SE) and two-sided p. "
    "McNemar's test of the two models' errors, each at its own threshold chosen on validation: "
    "exact binomial (two-sided) below 25 discordant patients, chi-square with continuity "
    "correction otherwise; the Test column says which was used."
)
DELONG_HEADER = ["A vs B", "Patients", "AUROC A", "AUROC B", "Difference", "DeLong SE", "DeLong 95% CI", "p"]
MCNEMAR_HEADER = [
    "A vs B",
    "Threshold A",
    "Threshold B",
    "Only A right",
    "Only B right",
    "Test",
    "Statistic",
    "p",
]


def _p(value: float) -> str:
    return f"{value:.4g}" if value >= 1e-4 else f"{value:.1e}"


def delong_cells(pair: str, comparison: PairedComparison) -> list[str]:
    """One row of the DeLong table."""
    d = comparison.delong
    return [
        pair,
        str(comparison.n_patients),
        f"{d.auc_a:.3f}",
        f"{d.auc_b:.3f}",
        f"{d.difference:+.3f}",
        f"{d.se:.3f}",
        f"{d.ci_low:+.3f} to {d.ci_high:+.3f}",
        _p(d.p_value),
    ]


def mcnemar_cells(pair: str, comparison: PairedComparison, thresholds: tuple[float, float]) -> list[str]:
    """One row of the McNemar table."""
    m = comparison.mcnemar
    return [
        pair,
        f"{thresholds[0]:.3g}",
        f"{thresholds[1]:.3g}",
        str(m.a_only),
        str(m.b_only),
        m.method,
        f"{m.statistic:.4g}",
        _p(m.p_value),
    ]


def comparison_metrics(comparison: PairedComparison, thresholds: tuple[float, float]) -> dict[str, Any]:
    """``n_patients``, ``delong``, ``mcnemar`` (with ``threshold_a`` / ``threshold_b``) as plain data."""
    return {
        "n_patients": comparison.n_patients,
        "delong": attrs.asdict(comparison.delong),
        "mcnemar": {
            **attrs.asdict(comparison.mcnemar),
            "threshold_a": thresholds[0],
            "threshold_b": thresholds[1],
        },
    }


def read_report_metrics(run_dir: Path) -> dict[str, Any] | None:
    """``RUN/report/metrics.json``, or ``None`` when the run was not evaluated."""
    path = run_dir / REPORT_DIR / METRICS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def read_predictions(run_dir: Path, label: str, threshold: float) -> PatientScores | None:
    """Model ``label``'s test rows of ``RUN/report/predictions.csv`` (``None`` without the file)."""
    path = run_dir / REPORT_DIR / PREDICTIONS_FILE
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["split"] == "test" and row.get(label)]
    if not rows:
        raise TrackingError(f"{path}: no test predictions of model {label!r}")
    return PatientScores(
        [row["patient_id"] for row in rows],
        [int(row["label"]) for row in rows],
        [float(row[label]) for row in rows],
        threshold,
    )
