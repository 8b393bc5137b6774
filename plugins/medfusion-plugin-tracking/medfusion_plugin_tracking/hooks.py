"""Registers the store tracker, the ``runs`` and ``models`` commands and the ``paired_tests`` report
section (import strings only)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, Param, hookimpl


@hookimpl
def medfusion_register_trackers() -> list[ComponentSpec]:
    """The built-in tracker writing every run to the tracking store."""
    return [
        ComponentSpec(
            "store",
            "tracker",
            "medfusion_plugin_tracking.tracker:StoreTracker",
            "Runs, metrics and models in one SQL store (SQLite file by default, PostgreSQL by URL).",
            {"url": Param("str", None, "store URL; default $MEDFUSION_TRACKING_URI or <runs>/medfusion.db")},
        )
    ]


@hookimpl
def medfusion_register_commands() -> list[ComponentSpec]:
    """``medfusion runs ...`` and ``medfusion models ...``."""
    return [
        ComponentSpec(
            "runs",
            "command",
            "medfusion_plugin_tracking.cli_runs:runs",
            "List, show, compare, import and delete the runs of the tracking store.",
        ),
        ComponentSpec(
            "models",
            "command",
            "medfusion_plugin_tracking.cli_models:models",
            "Register runs as model versions, list them and move their aliases.",
        ),
    ]


@hookimpl
def medfusion_register_reports() -> list[ComponentSpec]:
    """The report section comparing the fused model with each baseline by DeLong and McNemar."""
    return [
        ComponentSpec(
            "paired_tests",
            "report",
            "medfusion_plugin_tracking.report_section:PairedTests",
            "DeLong and McNemar: the fused model against each baseline on the same test patients (binary).",
        )
    ]
