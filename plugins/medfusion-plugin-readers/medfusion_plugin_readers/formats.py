"""The first-party image readers: Pillow (PNG/JPEG/BMP/TIFF), pydicom (DICOM), nibabel (NIfTI)
and NumPy (``.npy``), registered through the readers hook (see ``medfusion_core.data.readers``
for what a reader returns). Any failure to read a file raises ``DataError`` naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medfusion_core.data.readers import as_kernel_dtype, unreadable
from medfusion_core.errors import DataError


def read_pillow(path: str | Path) -> np.ndarray:
    """An image file with Pillow (for PNG files the arrays of the ``decode_png`` kernel, which the
    data path uses instead when it is accelerated): 8-bit gray -> uint8 ``[H, W]``, 16-bit gray -> uint16,
    colour -> uint8 ``[H, W, 3]`` (alpha dropped, palettes expanded), float -> float32."""
    from PIL import Image

    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode in ("1", "L", "LA", "P", "PA", "RGBA", "CMYK", "YCbCr", "LAB", "HSV"):
                target = "L" if mode in ("1", "L", "LA") else "RGB"
                image = image.convert(target)
            array = np.asarray(image)
    except Exception as exc:  # Pillow raises many types for bad files
        raise unreadable(path, "an image (Pillow)", exc) from None
    if mode.startswith("I;16"):
        array = array.astype(np.uint16)
    elif mode == "I":
        fits = array.size == 0 or (array.min() >= 0 and array.max() <= 65535)
        array = array.astype(np.uint16 if fits else np.float32)
    return as_kernel_dtype(np.ascontiguousarray(array))


def _dicom_dataset(path: Path, *, pixels: bool):
    """The pydicom dataset of ``path`` (without pixel data unless ``pixels``)."""
    import pydicom

    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=not pixels)
    except Exception as exc:  # pydicom raises many types for bad files
        raise unreadable(path, "DICOM", exc) from None
    if not pixels:
        return dataset, None
    try:
        return dataset, dataset.pixel_array
    except Exception as exc:
        syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
        if syntax is None or not syntax.is_compressed:
            raise unreadable(path, "DICOM", exc) from None
        reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
        raise DataError(
            f"{path}: DICOM transfer syntax {syntax.name!r} ({syntax}) cannot be decoded ({reason}); "
            "install a decoder for it (pylibjpeg with its plugins, or python-gdcm) or convert the file "
            "to an uncompressed transfer syntax"
        ) from None


def _is_monochrome1(dataset) -> bool:
    return str(getattr(dataset, "PhotometricInterpretation", "")).upper() == "MONOCHROME1"


def read_dicom(path: str | Path) -> np.ndarray:
    """A DICOM file as float32 ``[H, W]`` (multi-frame: ``[frames, H, W]``; colour: ``[H, W, 3]``).

    ``RescaleSlope`` and ``RescaleIntercept`` are applied (``v * slope + intercept``).
    MONOCHROME1 images (low values shown bright) are negated so that larger is always brighter;
    :func:`dicom_window` negates their window to match.
    """
    path = Path(path)
    dataset, pixels = _dicom_dataset(path, pixels=True)
    slope = float(getattr(dataset, "RescaleSlope", 1.0) or 1.0)
    intercept = float(getattr(dataset, "RescaleIntercept", 0.0) or 0.0)
    values = pixels.astype(np.float64) * slope + intercept
    if _is_monochrome1(dataset):
        values = -values
    return np.ascontiguousarray(values, dtype=np.float32)


def _first(value: object) -> float:
    """The first number of a possibly multi-valued DICOM element."""
    try:
        return float(value[0])  # type: ignore[index]
    except TypeError:
        return float(value)  # type: ignore[arg-type]


def dicom_window(path: str | Path) -> tuple[float, float] | None:
    """The display window ``(low, high)`` of a DICOM file in the units :func:`read_dicom` returns.

    From ``WindowCenter``/``WindowWidth`` (first value) as ``(c - w/2, c + w/2)``; without them
    the full range of the stored values (``BitsStored``, ``PixelRepresentation``) after rescale.
    Negated and swapped for MONOCHROME1. ``None`` when neither can be determined.
    """
    path = Path(path)
    dataset, _ = _dicom_dataset(path, pixels=False)
    center, width = getattr(dataset, "WindowCenter", None), getattr(dataset, "WindowWidth", None)
    if center is not None and width is not None and _first(width) > 0:
        low, high = _first(center) - _first(width) / 2.0, _first(center) + _first(width) / 2.0
    else:
        bits = getattr(dataset, "BitsStored", None)
        if bits is None:
            return None
        signed = int(getattr(dataset, "PixelRepresentation", 0)) == 1
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        slope = float(getattr(dataset, "RescaleSlope", 1.0) or 1.0)
        intercept = float(getattr(dataset, "RescaleIntercept", 0.0) or 0.0)
        low, high = sorted((lo * slope + intercept, hi * slope + intercept))
    if _is_monochrome1(dataset):
        low, high = -high, -low
    return low, high


def read_nifti(path: str | Path) -> np.ndarray:
    """A NIfTI volume (``.nii``/``.nii.gz``) as float32 ``[D, H, W]`` (the file's scaling applied).

    The stored axes ``(x, y, z)`` become ``(z, y, x)``; trailing singleton axes are dropped, and a
    2D file gives ``[H, W]``.
    """
    import nibabel

    path = Path(path)
    try:
        volume = np.asarray(nibabel.load(path).get_fdata(dtype=np.float32))
    except Exception as exc:  # nibabel raises many types for bad files
        raise unreadable(path, "NIfTI", exc) from None
    while volume.ndim > 3 and volume.shape[-1] == 1:
        volume = volume[..., 0]
    if volume.ndim not in (2, 3):
        raise DataError(f"{path}: NIfTI image has shape {volume.shape}; expected a 2D or 3D image")
    return np.ascontiguousarray(volume.T)


def read_numpy(path: str | Path) -> np.ndarray:
    """A ``.npy`` array (no pickles) in a kernel dtype: bool -> uint8 0/255, others float32."""
    path = Path(path)
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises many types for bad files
        raise unreadable(path, "NumPy .npy", exc) from None
    if array.ndim not in (2, 3):
        raise DataError(f"{path}: array has shape {array.shape}; expected [H, W], [H, W, C] or [D, H, W]")
    return np.ascontiguousarray(as_kernel_dtype(array))
