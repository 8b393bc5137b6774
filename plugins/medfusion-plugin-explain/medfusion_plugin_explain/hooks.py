"""Registers the ``explain`` command and the explanations report section (import strings only)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, Param, hookimpl


@hookimpl
def medfusion_register_commands() -> list[ComponentSpec]:
    """``medfusion explain RUN --patients ID... --out DIR``."""
    return [
        ComponentSpec(
            "explain",
            "command",
            "medfusion_plugin_explain.command:command",
            "Grad-CAM, attention maps and clinical attributions of chosen patients of a run.",
        )
    ]


@hookimpl
def medfusion_register_reports() -> list[ComponentSpec]:
    """The explanations section of the evaluation report."""
    return [
        ComponentSpec(
            "explanations",
            "report",
            "medfusion_plugin_explain.report:ExplanationSection",
            "Grad-CAM of the top-k patients, false positives and false negatives on test.",
            params={"k": Param("int", 3, "patients per group")},
        )
    ]
