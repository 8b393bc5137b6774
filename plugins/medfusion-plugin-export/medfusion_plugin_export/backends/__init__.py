"""One module per artifact format; each exposes a :class:`~.base.Backend` named ``BACKEND``."""

from __future__ import annotations

import importlib

from medfusion_core.errors import ExportError
from medfusion_plugin_export.backends.base import Backend

#: ``--format`` value -> module defining ``BACKEND``.
FORMATS: dict[str, str] = {
    "onnx": "medfusion_plugin_export.backends.onnx",
    "pt2": "medfusion_plugin_export.backends.pt2",
    "torchscript": "medfusion_plugin_export.backends.torchscript",
}


def get_backend(fmt: str) -> Backend:
    """The backend serving ``fmt``; raises :class:`ExportError` listing the formats otherwise."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return importlib.import_module(FORMATS[fmt]).BACKEND
