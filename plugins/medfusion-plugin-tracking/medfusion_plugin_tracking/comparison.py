"""What ``medfusion runs compare`` compares: runs or model versions, their report metrics and the
paired tests between their test predictions.

A reference is a run (id, id prefix or name) or a model version (``NAME@alias`` or ``NAME/N``).
Each names one model of one run folder: a model version its registered variant, a run the
reference model of its report (``fused``). The first reference is tested against each other one
when both have ``report/predictions.csv`` for a binary task; test sets that differ are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from medfusion_core.runs import VARIANT_DIRS
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.paired import comparison_metrics, read_predictions, read_report_metrics
from medfusion_plugin_tracking.records import RunInfo
from medfusion_plugin_tracking.stats import PairedComparison, compare_models
from medfusion_plugin_tracking.store import TrackingStore

_MODEL_REF = re.compile(r"^[^@/]+(@[^@/]+|/\d+)$")


@attrs.frozen
class Compared:
    """One compared model: how it was named, its run, the run folder, its model label in the
    report (``None`` when the run has no report) and the report's metrics.json content."""

    ref: str
    display: str
    run: RunInfo
    run_dir: Path
    label: str | None
    report: Mapping[str, Any] | None

    @property
    def model_metrics(self) -> Mapping[str, Any] | None:
        """This model's entry of metrics.json ``models``, or ``None``."""
        if self.report is None or self.label is None:
            return None
        return self.report["models"].get(self.label)


@attrs.frozen
class PairedResult:
    """The first model against ``other``, on the same test patients."""

    a: Compared
    b: Compared
    comparison: PairedComparison
    thresholds: tuple[float, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the two references and the tests' numbers."""
        return {"a": self.a.ref, "b": self.b.ref, **comparison_metrics(self.comparison, self.thresholds)}


def resolve(store: TrackingStore, ref: str) -> Compared:
    """The run or model version ``ref`` names (see the module docstring)."""
    if _MODEL_REF.match(ref):
        version = store.resolve_model(ref)
        run_dir, variant = store.model_run_folder(ref)
        if version.run_id is None:
            raise TrackingError(f"model version {version.ref} has no run in the store")
        run = store.get_run(version.run_id)
        report = read_report_metrics(run_dir)
        return Compared(ref, f"{version.ref} ({run.name})", run, run_dir, VARIANT_DIRS[variant], report)
    run = store.get_run(ref)
    run_dir = Path(run.run_dir)
    report = read_report_metrics(run_dir) if run.run_dir else None
    label = next(iter(report["models"]), None) if report else None  # the reference comes first
    return Compared(ref, f"{run.name} ({run.id[:8]})", run, run_dir, label, report)


def _flatten(values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Numbers and ``{value, low, high}`` estimates of a metrics.json model entry, by dotted key."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}.{key}"
        if isinstance(value, Mapping) and {"value", "low", "high"} <= value.keys():
            flat[name] = {part: value[part] for part in ("value", "low", "high")}
        elif isinstance(value, Mapping):
            flat.update(_flatten(value, name))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[name] = value
    return flat


def report_metrics(compared: Compared) -> dict[str, Any]:
    """The model's test metrics of its report, keyed ``test.<metric>`` (empty without a report)."""
    metrics = compared.model_metrics
    return _flatten(metrics, "test") if metrics is not None else {}


def paired_tests(models: list[Compared]) -> tuple[list[PairedResult], list[str]]:
    """DeLong and McNemar of the first model against each other one, and why a pair was skipped.
    Raises :class:`~.errors.TrackingError` (one line naming the patients) when two models with
    predictions were tested on different patients."""
    first, results, skipped = models[0], [], []
    for other in models[1:]:
        pair = f"{first.display} vs {other.display}"
        reason = _cannot_pair(first, other)
        if reason:
            skipped.append(f"{pair}: {reason}")
            continue
        thresholds = (_threshold(first), _threshold(other))
        a = read_predictions(first.run_dir, str(first.label), thresholds[0])
        b = read_predictions(other.run_dir, str(other.label), thresholds[1])
        if a is None or b is None:
            missing = first if a is None else other
            skipped.append(
                f"{pair}: {missing.display} has no report/predictions.csv (re-run medfusion evaluate)"
            )
            continue
        results.append(PairedResult(first, other, compare_models(a, b), thresholds))
    return results, skipped


def _cannot_pair(first: Compared, other: Compared) -> str | None:
    for model in (first, other):
        if model.model_metrics is None:
            return f"{model.display} has no evaluation report (run medfusion evaluate)"
        if model.report is not None and model.report["task"] != "binary":
            return f"{model.display} is a {model.report['task']} task; DeLong and McNemar need binary"
    return None


def _threshold(model: Compared) -> float:
    metrics = model.model_metrics
    assert metrics is not None
    return float(metrics["threshold"]["value"])
