"""The core's own plugin: the commands and numpy reference kernels of medfusion-core.

Core commands are registered through the same hook as third-party commands, so ``--help`` lists
them from their specs without importing their modules.
"""

from __future__ import annotations

from medfusion_core.hookspecs import hookimpl
from medfusion_core.specs import ComponentSpec


def _command(name: str, module: str, summary: str) -> ComponentSpec:
    return ComponentSpec(name, "command", f"medfusion_core.commands.{module}:command", summary)


@hookimpl
def medfusion_register_commands() -> list[ComponentSpec]:
    """The core's subcommands (each module defines ``command``)."""
    return [
        _command("list-plugins", "list_plugins", "List installed plugins, their status and components."),
        _command("info", "info", "Show one plugin or component in detail."),
        _command("doctor", "doctor", "Check the environment, torch, plugin health and kernel backend."),
        _command("validate", "validate", "Check an experiment config without running it."),
        _command("new-plugin", "new_plugin", "Create a plugin package from the template."),
        _command("install", "install", "Install a plugin from the catalogue into this environment."),
        _command("evaluate", "evaluate", "Evaluate a trained run and write its report."),
    ]
