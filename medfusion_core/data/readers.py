"""Finding the image reader for a file through the registry, and the :func:`read_image` dispatcher.

A reader is a factory ``read(path) -> np.ndarray`` registered through the readers hook with
:class:`~medfusion_core.kinds.reader.ReaderInfo` (the first-party ones are in
``medfusion-plugin-readers``). It returns a 2D image ``[H, W]`` or ``[H, W, C]`` or a 3D volume
``[D, H, W]`` of dtype uint8, uint16, int16 or float32 (the dtypes the ``preprocess_into`` kernel
takes). Any failure to read a file raises :class:`DataError` naming the file. ``ReaderInfo``'s
``png_kernel`` lets the active ``decode_png`` kernel decode PNG files; its ``window`` names the
function giving the display window a file carries itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import numpy as np

from medfusion_core.errors import ComponentNotFoundError, DataError, MedFusionError

if TYPE_CHECKING:
    from medfusion_core.specs import ComponentSpec

#: dtypes the image kernels accept; anything else is converted to float32.
KERNEL_DTYPES = (np.uint8, np.uint16, np.int16, np.float32)


def as_kernel_dtype(array: np.ndarray) -> np.ndarray:
    """``array`` with a dtype the kernels accept: bool becomes uint8 0/255, other dtypes float32."""
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if array.dtype.type in KERNEL_DTYPES:
        return array
    return array.astype(np.float32)


def unreadable(path: Path, what: str, exc: BaseException) -> DataError:
    """The one-line DataError a reader raises for a file it cannot decode as ``what``."""
    if isinstance(exc, FileNotFoundError):
        return DataError(f"{path}: image file not found; fix the path in the manifest")
    reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return DataError(f"{path}: cannot read as {what} ({reason}); check or replace the file")


def reader_spec(path: str | Path) -> ComponentSpec:
    """The spec of the registered reader whose longest extension matches ``path``
    (case-insensitive); raises :class:`DataError` listing the known extensions when none does."""
    from medfusion_core.registry import get_registry

    try:
        return get_registry().reader(path)
    except ComponentNotFoundError as exc:
        raise DataError(str(exc)) from None


def _load(spec: ComponentSpec, path: str | Path, factory: str | None = None) -> Callable:
    """``spec``'s factory (or the import string ``factory`` in its plugin), errors naming ``path``."""
    try:
        return (spec if factory is None else attrs.evolve(spec, factory=factory)).load()
    except MedFusionError as exc:
        raise DataError(f"{path}: {exc}") from None


def reader_for(path: str | Path) -> Callable[[Path], np.ndarray]:
    """The registered reader whose longest extension matches ``path`` (case-insensitive)."""
    return _load(reader_spec(path), path)


def png_kernel_reads(path: str | Path = "view.png") -> bool:
    """Whether PNG files like ``path`` may be decoded by the ``decode_png`` kernel: their reader
    declares ``"png_kernel": True`` (it returns the kernel's arrays). ``False`` when no reader
    takes PNG files."""
    if not str(path).lower().endswith(".png"):
        return False
    try:
        return reader_spec(path).info.png_kernel  # type: ignore[attr-defined]
    except DataError:
        return False


def read_image(path: str | Path) -> np.ndarray:
    """Read the image at ``path`` with the reader registered for its extension (a PNG through the
    active ``decode_png`` kernel when its reader allows it, see :func:`png_kernel_reads`)."""
    if png_kernel_reads(path):
        from medfusion_core.kernels import get_kernel

        return get_kernel("decode_png")(str(path))
    return reader_for(path)(Path(path))


def default_window(path: str | Path) -> tuple[float, float] | None:
    """The window a file carries itself (from its reader's ``window`` function, e.g. a DICOM
    window or stored range), or ``None``."""
    spec = reader_spec(path)
    window = spec.info.window  # type: ignore[attr-defined]
    return None if window is None else _load(spec, path, window)(path)
