"""Registers the ``new-plugin`` command. Imports nothing heavy: the command is an import string."""

from __future__ import annotations

from medfusion_core import ComponentSpec, hookimpl


@hookimpl
def medfusion_register_commands() -> list[ComponentSpec]:
    """``medfusion new-plugin``: a plugin package rendered from the copier template."""
    return [
        ComponentSpec(
            "new-plugin",
            "command",
            "medfusion_plugin_scaffold.new_plugin:command",
            "Create a plugin package from the template.",
        )
    ]
