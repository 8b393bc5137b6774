"""The report parts that TRIPOD+AI (and CLAIM, for imaging) ask for: source of data and cohort,
missing data, the model, calibration and the operating point, classification rates per subgroup,
and the filled TRIPOD+AI checklist.

Each is a ``report`` component (:mod:`medfusion_core.kinds.report`); the cohort, missing-data and
model parts need a run (``None`` otherwise). Their numbers are also written to metrics.json under
``sections.<component name>``, and the checklist quotes them from there.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata

import numpy as np

from medfusion_core.kinds.report import ReportSection, ReportTable
from medfusion_plugin_evaluation.binary import BinaryEvaluation, confusion_counts, rates_from_counts
from medfusion_plugin_evaluation.cohort import SPLITS, Cohort, load_cohort
from medfusion_plugin_evaluation.context import EvaluationContext
from medfusion_plugin_evaluation.recalibration import calibration_slope_intercept
from medfusion_plugin_evaluation.render import format_value

#: Heading of each TRIPOD+AI part (the checklist points at them).
COHORT = "Source of data and cohort"
MISSING = "Missing data"
MODEL = "The model"
CALIBRATION = "Calibration and operating point"
RATES = "Classification rates per subgroup"
CHECKLIST = "TRIPOD+AI checklist"
#: Where the first-party sections are.
SUMMARY, MODELS, PLOTS, SUBGROUPS = "Summary", "Models side by side", "Plots", "Subgroups"
CONFUSIONS = "Confusion matrices"
AUTHORS = "to be completed by the authors"


def _split_rows(cohort: Cohort, counts: Callable[[str], list[int]]) -> list[list[str]]:
    """One table row per split: its name, its patients, then ``counts(split)``."""
    return [[split, str(cohort.patients[split]), *map(str, counts(split))] for split in SPLITS]


class _CohortSection:
    """A part made from the run's cohort: ``render`` is ``None`` without a run, else
    :meth:`section`."""

    def render(self, context: EvaluationContext) -> ReportSection | None:
        """This part's section; ``None`` without a run."""
        cohort = load_cohort(context)
        return None if cohort is None else self.section(context, cohort)

    def section(self, context: EvaluationContext, cohort: Cohort) -> ReportSection:
        """The section for ``cohort`` (subclasses)."""
        raise NotImplementedError


class CohortPart(_CohortSection):
    """Patients, views and class balance per split, and how the splits were made."""

    title = COHORT
    order = 12

    def section(self, context: EvaluationContext, cohort: Cohort) -> ReportSection:
        """One row per split."""
        classes = sorted({name for split in SPLITS for name in cohort.classes[split]})
        rows = _split_rows(
            cohort, lambda split: [cohort.views[split], *(cohort.classes[split].get(c, 0) for c in classes)]
        )
        manifest = context.config.data.manifest if context.config else ""
        return ReportSection(
            heading=COHORT,
            paragraphs=[f"Data: the manifest {manifest}. Splits: {cohort.how_split}."],
            tables=[ReportTable(["Split", "Patients", "Views", *(f"label {c}" for c in classes)], rows)],
            metrics={"patients": cohort.patients, "views": cohort.views, "classes": cohort.classes},
        )


class MissingDataPart(_CohortSection):
    """Patients without images and missing clinical values per split, and the reference model's
    AUROC on test patients with complete and with incomplete data."""

    title = MISSING
    order = 14

    def section(self, context: EvaluationContext, cohort: Cohort) -> ReportSection:
        """The missing-data tables."""
        columns = list(cohort.missing["train"])
        header = ["Split", "Patients", "Without images", *(f"missing {c}" for c in columns)]
        rows = _split_rows(
            cohort, lambda split: [cohort.without_images[split], *(cohort.missing[split][c] for c in columns)]
        )
        tables = [ReportTable(header, rows, "Missing data per split (patients)")]
        by_pattern = _by_pattern(context, cohort.complete)
        if by_pattern:
            tables.append(
                ReportTable(
                    ["Missing-data pattern", "Test patients", f"AUROC ({context.reference})"],
                    [[name, str(n), format_value(value)] for name, (n, value) in by_pattern.items()],
                    "Complete: every clinical value and at least one image present",
                )
            )
        paragraph = (
            "No patient is dropped for missing data. Missing numeric values are imputed with the training "
            "median and flagged by a <column>_missing indicator; a missing category encodes as all zeros; "
            "a patient without images or without any clinical value has that modality masked."
        )
        return ReportSection(
            heading=MISSING,
            paragraphs=[paragraph],
            tables=tables,
            metrics={
                "without_images": cohort.without_images,
                "missing_values": cohort.missing,
                "by_pattern": {k: {"n": n, "auroc": v} for k, (n, v) in by_pattern.items()},
            },
        )


def _by_pattern(context: EvaluationContext, complete: dict[str, bool]) -> dict[str, tuple[int, float | None]]:
    """Test patients and the reference's AUROC with complete vs incomplete data (binary only)."""
    from medfusion_core.kernels import auc_pair

    scores = context.predictions[context.reference].test
    if context.task != "binary" or scores.patient_ids is None:
        return {}
    flags = np.array([complete.get(str(patient), False) for patient in scores.patient_ids])
    result: dict[str, tuple[int, float | None]] = {}
    for name, chosen in (("complete", flags), ("incomplete", ~flags)):
        y, p = scores.y_true[chosen], scores.scores[chosen]
        both = y.size and 0 < y.sum() < y.size
        result[name] = (int(y.size), float(auc_pair(y.astype(np.uint8), p)[0]) if both else None)
    return result


def plugin_versions(context: EvaluationContext) -> dict[str, str]:
    """The version of the core and of every plugin whose component took part in the run."""
    from medfusion_core.config import iter_components
    from medfusion_core.registry import get_registry

    plugins = {"medfusion-core", "medfusion-plugin-evaluation"}
    if context.config is not None:
        for _, kind, component in iter_components(context.config):
            try:
                plugins.add(get_registry().resolve(kind, component.name).plugin)
            except Exception:  # a component no longer installed: named without a version
                plugins.add(f"{kind} {component.name} (not installed)")
    versions = {}
    for name in sorted(p for p in plugins if p):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _parameters(context: EvaluationContext) -> dict[str, int]:
    """Trainable-parameter counts per trained variant, from each variant's best checkpoint."""
    from medfusion_core import runs

    if context.run_dir is None:
        return {}
    counts = {}
    paths = runs.RunPaths(context.run_dir)
    for variant in runs.VARIANT_DIRS:
        checkpoint = paths.variant(variant).best
        if checkpoint.is_file():
            state = runs.load_checkpoint(checkpoint)["model"]
            counts[variant] = int(
                sum(tensor.numel() for tensor in state.values() if hasattr(tensor, "numel"))
            )
    return counts


class ModelPart:
    """Backbone, fusion, aggregator, attention, parameters, epochs, seed and plugin versions."""

    title = MODEL
    order = 16

    def render(self, context: EvaluationContext) -> ReportSection | None:
        """The model's description; ``None`` without a run."""
        config = context.config
        if config is None or context.run_dir is None:
            return None
        model = config.model
        attention = model.backbone.attention.name if model.backbone.attention else "none"
        trainer = config.trainer
        parameters = _parameters(context)
        versions = plugin_versions(context)
        bullets = [
            f"Backbone: {model.backbone.name} (pretrained weights: {model.backbone.pretrained or 'none'}); "
            f"attention: {attention}; multi-view aggregator: {model.aggregator.name}; "
            f"fusion: {model.fusion.name}; clinical encoder: MLP {model.tabular.hidden}",
            f"Image input: {config.data.image.size}, {config.data.image.channels} channel(s)",
            f"Trainer: {trainer.name} with {trainer.params}; seed {config.seed}",
            *(f"Parameters ({variant}): {count:,}" for variant, count in parameters.items()),
        ]
        table = ReportTable(["Package", "Version"], [[k, v] for k, v in versions.items()], "Versions")
        return ReportSection(
            heading=MODEL,
            bullets=bullets,
            tables=[table],
            metrics={"parameters": parameters, "versions": versions, "seed": config.seed},
        )


class CalibrationPart:
    """Each binary model's calibration slope and intercept (CIs) beside ECE and Brier, and its
    operating point: the threshold, how it was chosen and what it gives."""

    title = CALIBRATION
    order = 25

    def render(self, context: EvaluationContext) -> ReportSection | None:
        """The calibration and operating-point table; ``None`` unless the task is binary."""
        if context.task != "binary":
            return None
        settings = context.metrics["settings"]
        rows, metrics = [], {}
        for label, evaluation in context.evaluations.items():
            test = context.predictions[label].test
            slope, intercept = calibration_slope_intercept(
                test.y_true, test.scores, n_resamples=settings["n_resamples"], seed=settings["seed"]
            )
            metrics[label] = {
                "calibration_slope": slope.to_dict(),
                "calibration_intercept": intercept.to_dict(),
            }
            rows.append(
                [
                    label,
                    format_value(slope),
                    format_value(intercept),
                    format_value(evaluation.ece),
                    format_value(evaluation.brier),
                    evaluation.threshold.describe(),
                    format_value(evaluation.at_threshold["sensitivity"]),
                    format_value(evaluation.at_threshold["specificity"]),
                ]
            )
        header = ["Model", "Slope", "Intercept", "ECE", "Brier", "Threshold", "Sensitivity", "Specificity"]
        paragraph = (
            "Calibration slope: b of logit P(y) = a + b·logit(p); intercept (calibration-in-the-large): "
            "a of logit P(y) = a + logit(p); ideal 1 and 0; Newton-Raphson fits, percentile bootstrap CIs. "
            "ECE: 10 equal-width bins; Brier: mean squared error of p. The operating point is each model's "
            "threshold chosen on its validation predictions, marked as a dot on the ROC curve (Plots)."
        )
        return ReportSection(
            heading=CALIBRATION, paragraphs=[paragraph], tables=[ReportTable(header, rows)], metrics=metrics
        )


class SubgroupRatesPart:
    """Sensitivity, specificity, PPV and NPV of every binary model per subgroup, at its threshold."""

    title = RATES
    order = 55

    def render(self, context: EvaluationContext) -> ReportSection | None:
        """One table per subgroup column; ``None`` unless binary with subgroups."""
        if context.task != "binary":
            return None
        tables, metrics = [], {}
        for column in context.metrics["settings"]["subgroups"]:
            rows = []
            for label, evaluation in context.evaluations.items():
                test = context.predictions[label].test
                groups = np.asarray(test.subgroups[column]).astype(str)
                predicted = (test.scores >= evaluation.threshold.value).astype(np.int64)
                for group in sorted(set(groups.tolist())):
                    chosen = groups == group
                    rates = rates_from_counts(confusion_counts(test.y_true[chosen], predicted[chosen]))
                    values = {
                        name: float(rates[name]) for name in ("sensitivity", "specificity", "ppv", "npv")
                    }
                    metrics.setdefault(column, {}).setdefault(label, {})[group] = values
                    rows.append(
                        [label, group, str(int(chosen.sum())), *(format_value(v) for v in values.values())]
                    )
            header = ["Model", "Group", "n", "Sensitivity", "Specificity", "PPV", "NPV"]
            tables.append(ReportTable(header, rows, f"Subgroup: {column} (at each model's threshold)"))
        if not tables:
            return None
        return ReportSection(heading=RATES, tables=tables, metrics=metrics)


def _performance(context: EvaluationContext) -> str:
    """The reference's headline numbers as quoted in the checklist (the values of metrics.json)."""
    reference = context.evaluations[context.reference]
    if isinstance(reference, BinaryEvaluation):
        auroc = reference.auroc
        return (
            f"{context.reference}: AUROC {auroc.value:.3f} ({auroc.low:.3f}–{auroc.high:.3f}), "
            f"Brier {reference.brier.value:.3f}, ECE {reference.ece:.3f}"
        )
    return f"{context.reference}: see {MODELS}"


def checklist_items(context: EvaluationContext) -> list[tuple[str, str, str]]:
    """``(item, topic, where in the report or why not)`` for every TRIPOD+AI item (Collins et al.,
    BMJ 2024; items 1-27)."""
    settings = context.metrics["settings"]
    cohort = load_cohort(context)
    sizes = ", ".join(f"{split} {n}" for split, n in cohort.patients.items()) if cohort else "n/a (no run)"
    config = context.config
    predictors = [*config.data.images, *config.data.numeric, *config.data.categorical] if config else []
    outcome = f"label column {config.data.label!r} ({context.task})" if config else context.task
    return [
        ("1", "Title", AUTHORS),
        ("2", "Abstract", AUTHORS),
        ("3", "Introduction: background (healthcare context, rationale, existing models)", AUTHORS),
        ("4", "Objectives (development and/or evaluation)", f"{SUMMARY}; the aims: {AUTHORS}"),
        ("5", "Source of data and study dates", f"{COHORT} (the manifest); dates: {AUTHORS}"),
        ("6", "Participants: setting, eligibility, treatments", f"{COHORT}; eligibility: {AUTHORS}"),
        (
            "7",
            "Data preparation (pre-processing, quality checks)",
            f"{MODEL} (image input); every file is decoded and checked before training",
        ),
        ("8", "Outcome: definition, how and when assessed, blinding", f"{outcome}; definition: {AUTHORS}"),
        (
            "9",
            "Predictors: choice, definition, blinding",
            f"{MODEL}: columns {predictors}; choice: {AUTHORS}",
        ),
        ("10", "Sample size", f"{COHORT}: patients {sizes}"),
        ("11", "Missing data: how handled", MISSING),
        (
            "12",
            "Analytical methods: data use, predictor handling, model type, tuning, performance measures",
            f"{MODEL}; {CALIBRATION}; {SUMMARY} (estimators, {settings['n_resamples']} bootstrap resamples)",
        ),
        (
            "13",
            "Class imbalance: methods and rationale",
            f"{COHORT} (class balance per split); trainer class_weights in {MODEL}",
        ),
        ("14", "Fairness: approaches to address it", f"{SUBGROUPS}; {RATES}"),
        (
            "15",
            "Model output and threshold",
            f"{CALIBRATION} (threshold rule {settings['threshold_rule']!r}, chosen on validation)",
        ),
        (
            "16",
            "Differences between development and evaluation data",
            f"{COHORT} (patient-level splits from one manifest)",
        ),
        ("17", "Ethical approval", AUTHORS),
        (
            "18",
            "Open science: funding, conflicts, protocol, registration, data and code availability",
            f"code and plugin versions: {MODEL}; the rest: {AUTHORS}",
        ),
        ("19", "Patient and public involvement", AUTHORS),
        ("20", "Participants: flow, characteristics, comparison across splits", f"{COHORT}; {MISSING}"),
        ("21", "Model development: participants and outcome events per analysis", f"{COHORT}; {CONFUSIONS}"),
        ("22", "Model specification", f"{MODEL} (the run folder holds the full model and config)"),
        (
            "23",
            "Model performance with CIs, including subgroups",
            f"{MODELS}; {CALIBRATION}; {SUBGROUPS}; {RATES} — {_performance(context)}",
        ),
        ("24", "Model updating", "not applicable (no updating in this run)"),
        ("25", "Interpretation", AUTHORS),
        ("26", "Limitations", AUTHORS),
        (
            "27",
            "Usability in context: data quality, intended users, further research",
            f"{PLOTS} (decision curve); the rest: {AUTHORS}",
        ),
    ]


class ChecklistPart:
    """The TRIPOD+AI checklist, each item pointing at its place in this report or saying that it is
    not applicable or to be completed by the authors."""

    title = CHECKLIST
    order = 90

    def render(self, context: EvaluationContext) -> ReportSection:
        """One row per TRIPOD+AI item."""
        items = checklist_items(context)
        return ReportSection(
            heading=CHECKLIST,
            paragraphs=[
                "TRIPOD+AI (Collins et al., BMJ 2024;385:e078378). For imaging, CLAIM's items on data "
                f"sources, preprocessing, model and evaluation map to {COHORT}, {MODEL}, {CALIBRATION} and "
                f"{MODELS}."
            ],
            tables=[ReportTable(["Item", "Topic", "Where in this report"], [list(item) for item in items])],
            metrics={"items": {number: where for number, _, where in items}},
        )
