"""Registers the ``evaluate`` command and the first-party report parts (import strings only)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, hookimpl

_SECTIONS = "medfusion_plugin_evaluation.sections"
_TRIPOD = "medfusion_plugin_evaluation.tripod"


@hookimpl
def medfusion_register_commands() -> list[ComponentSpec]:
    """``medfusion evaluate RUN``."""
    return [
        ComponentSpec(
            "evaluate",
            "command",
            "medfusion_plugin_evaluation.command:command",
            "Evaluate a trained run and write its report.",
        )
    ]


@hookimpl
def medfusion_register_reports() -> list[ComponentSpec]:
    """The sections of the first-party report, in their order."""
    return [
        ComponentSpec("summary", "report", f"{_SECTIONS}:Summary", "Settings and the verdict per baseline."),
        ComponentSpec(
            "models", "report", f"{_SECTIONS}:ModelsSideBySide", "Every model's metrics side by side."
        ),
        ComponentSpec(
            "plots",
            "report",
            f"{_SECTIONS}:Plots",
            "ROC, PR, calibration, decision-curve, confusion and training plots.",
        ),
        ComponentSpec(
            "confusion", "report", f"{_SECTIONS}:ConfusionMatrix", "Every model's confusion matrix."
        ),
        ComponentSpec("subgroups", "report", f"{_SECTIONS}:Subgroups", "The headline metric per subgroup."),
        ComponentSpec("cohort", "report", f"{_TRIPOD}:CohortPart", "Source of data and cohort per split."),
        ComponentSpec(
            "missing_data", "report", f"{_TRIPOD}:MissingDataPart", "Missing data per split and by pattern."
        ),
        ComponentSpec("model", "report", f"{_TRIPOD}:ModelPart", "The model, its parameters and versions."),
        ComponentSpec(
            "calibration",
            "report",
            f"{_TRIPOD}:CalibrationPart",
            "Calibration slope and intercept with CIs, and the operating point.",
        ),
        ComponentSpec(
            "subgroup_rates",
            "report",
            f"{_TRIPOD}:SubgroupRatesPart",
            "Sensitivity, specificity, PPV and NPV per subgroup.",
        ),
        ComponentSpec(
            "tripod_checklist", "report", f"{_TRIPOD}:ChecklistPart", "The filled TRIPOD+AI checklist."
        ),
    ]
