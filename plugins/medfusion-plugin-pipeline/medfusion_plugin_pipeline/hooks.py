"""Registers the main job's commands (import strings only: nothing heavy is imported here)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, hookimpl


def _command(name: str, module: str, summary: str) -> ComponentSpec:
    return ComponentSpec(name, "command", f"medfusion_plugin_pipeline.commands.{module}:command", summary)


@hookimpl
def medfusion_register_commands() -> list[ComponentSpec]:
    """``train``, ``predict``, ``quickstart`` and ``demo-data``."""
    return [
        _command("demo-data", "demo_data", "Write a synthetic multimodal demo dataset and its config."),
        _command("train", "train", "Train the fused model and/or its unimodal baselines from a config."),
        _command("predict", "predict", "Score a new manifest with a trained run."),
        _command("quickstart", "quickstart", "Demo data -> train fused + baselines -> evaluate -> report."),
    ]
