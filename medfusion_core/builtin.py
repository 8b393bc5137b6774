"""The core's own plugin: the commands, readers and numpy reference kernels of medfusion-core.

Core commands are registered through the same hook as third-party commands, so ``--help`` lists
them from their specs without importing their modules.
"""

from __future__ import annotations

from medfusion_core.kinds.base import hookimpl
from medfusion_core.kinds.kernel import KernelInfo
from medfusion_core.kinds.reader import ReaderInfo
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
        _command("export", "export", "Export a trained run to ONNX, .pt2 or TorchScript and verify it."),
        _command("demo-data", "demo_data", "Write a synthetic multimodal demo dataset and its config."),
        _command("install", "install", "Install a plugin from the catalogue into this environment."),
        _command("train", "train", "Train the fused model and/or its unimodal baselines from a config."),
        _command("predict", "predict", "Score a new manifest with a trained run."),
        _command("quickstart", "quickstart", "Demo data -> train fused + baselines -> evaluate -> report."),
    ]


@hookimpl
def medfusion_register_readers() -> list[ComponentSpec]:
    """Image readers shipped with the core (``ReaderInfo.extensions`` picks the reader for a file)."""
    readers = "medfusion_core.data.readers"
    return [
        ComponentSpec(
            "pillow",
            "reader",
            f"{readers}:read_pillow",
            "PNG/JPEG/BMP/TIFF images (8/16-bit gray, RGB).",
            info=ReaderInfo(extensions=[".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"]),
        ),
        ComponentSpec(
            "dicom",
            "reader",
            f"{readers}:read_dicom",
            "DICOM with rescale slope/intercept, MONOCHROME1.",
            info=ReaderInfo(extensions=[".dcm", ".dicom"]),
        ),
        ComponentSpec(
            "nifti",
            "reader",
            f"{readers}:read_nifti",
            "NIfTI volumes as [D, H, W].",
            info=ReaderInfo(extensions=[".nii", ".nii.gz"]),
        ),
        ComponentSpec(
            "numpy",
            "reader",
            f"{readers}:read_numpy",
            "NumPy .npy arrays (2D, HWC or 3D).",
            info=ReaderInfo(extensions=[".npy"]),
        ),
    ]


#: The core's numpy reference kernels: name -> module defining it.
_REFERENCE_KERNELS = {
    "bootstrap_auc": "kernels",
    "preprocess_into": "imageops",
    "rotate_into": "imageops",
    "intensity_jitter": "imageops",
    "decode_png": "viewops",
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
