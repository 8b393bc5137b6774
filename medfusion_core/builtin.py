"""The core's own plugin: the commands, readers and numpy reference kernels of medfusion-core.

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


@hookimpl
def medfusion_register_readers() -> list[ComponentSpec]:
    """Image readers shipped with the core (``extra["extensions"]`` picks the reader for a file)."""
    readers = "medfusion_core.data.readers"
    return [
        ComponentSpec(
            "pillow",
            "reader",
            f"{readers}:read_pillow",
            "PNG/JPEG/BMP/TIFF images (8/16-bit gray, RGB).",
            extra={"extensions": [".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"]},
        ),
        ComponentSpec(
            "dicom",
            "reader",
            f"{readers}:read_dicom",
            "DICOM with rescale slope/intercept, MONOCHROME1.",
            extra={"extensions": [".dcm", ".dicom"]},
        ),
        ComponentSpec(
            "nifti",
            "reader",
            f"{readers}:read_nifti",
            "NIfTI volumes as [D, H, W].",
            extra={"extensions": [".nii", ".nii.gz"]},
        ),
        ComponentSpec(
            "numpy",
            "reader",
            f"{readers}:read_numpy",
            "NumPy .npy arrays (2D, HWC or 3D).",
            extra={"extensions": [".npy"]},
        ),
    ]
