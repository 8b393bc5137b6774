"""Registers the ``web-assets`` command (import string only); the built app itself is advertised
through the ``medfusion.web`` entry point, not a hook."""

from __future__ import annotations

from medfusion_core import ComponentSpec, hookimpl


@hookimpl
def medfusion_register_commands() -> list[ComponentSpec]:
    """``medfusion web-assets``: where the built web app is and whether it is whole."""
    return [
        ComponentSpec(
            "web-assets",
            "command",
            "medfusion_plugin_web.cli_web:web_assets",
            "Print the folder of the built web app that `medfusion serve` serves, checked complete.",
        )
    ]
