"""Registers the ``tune`` command (an import string only: nothing heavy is imported here)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, hookimpl


@hookimpl
def medfusion_register_commands() -> list[ComponentSpec]:
    """``medfusion tune``."""
    return [
        ComponentSpec(
            "tune",
            "command",
            "medfusion_plugin_tune.command:command",
            "Search hyperparameters with Optuna; every trial is a tracked run, the study resumes.",
        )
    ]
