"""Registers the ``serve-model`` command (an import string only: nothing heavy is imported here)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, hookimpl


@hookimpl
def medfusion_register_commands() -> list[ComponentSpec]:
    """``medfusion serve-model``."""
    return [
        ComponentSpec(
            "serve-model",
            "command",
            "medfusion_plugin_serve.cli:command",
            "Serve an exported model over HTTP: dynamic batching, validation, metrics, hot alias switching.",
        )
    ]
