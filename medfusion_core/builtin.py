"""The core's own plugin: the commands and numpy reference kernels of medfusion-core.

Core commands are registered through the same hook as third-party commands, so ``--help`` lists
them from their specs without importing their modules.
"""

from __future__ import annotations

from medfusion_core.kinds.base import hookimpl
from medfusion_core.kinds.kernel import KernelInfo
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
        _command("install", "install", "Install a plugin from the catalogue into this environment."),
    ]


#: The core's numpy reference kernels: name -> module defining it.
_REFERENCE_KERNELS = {
    "bootstrap_auc": "kernels",
    "preprocess_into": "imageops",
    "rotate_into": "imageops",
    "intensity_jitter": "imageops",
    "decode_png": "viewops",
    "probe_pngs": "viewops",
    "fill_views": "viewops",
}


@hookimpl
def medfusion_register_kernels() -> list[ComponentSpec]:
    """The numpy reference of every kernel; accelerator plugins register twins by name."""
    return [
        ComponentSpec(
            name,
            "kernel",
            f"medfusion_core.{module}:{name}",
            "numpy reference",
            info=KernelInfo(reference=True),
        )
        for name, module in _REFERENCE_KERNELS.items()
    ]
