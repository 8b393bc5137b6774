"""The reader kind: decodes one image file format into an array.

Contract: the factory is ``read(path: Path) -> numpy.ndarray`` returning ``[H, W]``,
``[H, W, C]`` or ``[D, H, W]``; :class:`ReaderInfo` lists the file suffixes it serves, and the
registry picks the reader of a file by its longest matching suffix.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import attrs

from medfusion_core.kinds.base import Info, Kind, hookspec

if TYPE_CHECKING:
    import numpy as np

    from medfusion_core.specs import ComponentSpec


@hookspec
def medfusion_register_readers() -> list[ComponentSpec] | None:
    """Register image readers.

    ``ReaderInfo(extensions=[".png", ...])`` lists the file suffixes served; two plugins serving
    the same suffix are an ambiguity error. The factory is ``read(path: Path) -> numpy.ndarray``
    returning ``[H, W]``, ``[H, W, C]`` or ``[D, H, W]``.
    """


class Reader(Protocol):
    """A reader function."""

    def __call__(self, path: Path) -> np.ndarray:
        """The image or volume stored in ``path``."""
        ...


def _suffixes(value: object) -> tuple[str, ...]:
    return tuple(str(item).lower() for item in value)  # type: ignore[attr-defined]


@attrs.frozen
class ReaderInfo(Info):
    """Reader metadata.

    Attributes:
        extensions: file suffixes served (lower case, with the dot: ``.nii.gz``).
        png_kernel: the reader returns for ``.png`` files exactly what the ``decode_png`` kernel
            returns, so PNG files are decoded by the active kernel (Rust with the native plugin).
        window: import string of ``function(path) -> (low, high) | None``, the display window a
            file carries itself (e.g. a DICOM window), used when the config sets none.
    """

    extensions: tuple[str, ...] = attrs.field(default=(), converter=_suffixes)
    png_kernel: bool = False
    window: str | None = None


KIND = Kind("reader", medfusion_register_readers, ReaderInfo, Reader)
