"""Registers the image readers (import strings only: Pillow, pydicom and nibabel are imported
when a file of their type is read)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, hookimpl
from medfusion_core.kinds.reader import ReaderInfo

_FORMATS = "medfusion_plugin_readers.formats"


@hookimpl
def medfusion_register_readers() -> list[ComponentSpec]:
    """Pillow, DICOM, NIfTI and NumPy readers (``ReaderInfo.extensions`` picks the reader for a file)."""
    return [
        ComponentSpec(
            "pillow",
            "reader",
            f"{_FORMATS}:read_pillow",
            "PNG/JPEG/BMP/TIFF images (8/16-bit gray, RGB).",
            info=ReaderInfo(extensions=[".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"], png_kernel=True),
        ),
        ComponentSpec(
            "dicom",
            "reader",
            f"{_FORMATS}:read_dicom",
            "DICOM with rescale slope/intercept, MONOCHROME1.",
            info=ReaderInfo(extensions=[".dcm", ".dicom"], window=f"{_FORMATS}:dicom_window"),
        ),
        ComponentSpec(
            "nifti",
            "reader",
            f"{_FORMATS}:read_nifti",
            "NIfTI volumes as [D, H, W].",
            info=ReaderInfo(extensions=[".nii", ".nii.gz"]),
        ),
        ComponentSpec(
            "numpy",
            "reader",
            f"{_FORMATS}:read_numpy",
            "NumPy .npy arrays (2D, HWC or 3D).",
            info=ReaderInfo(extensions=[".npy"]),
        ),
    ]
