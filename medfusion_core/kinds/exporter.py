"""The exporter kind: writes a standalone artifact of a trained run and verifies it.

Contract: ``factory(**params)`` returns an object with ``export(run_dir, out_path) -> Path``.
:class:`ExporterInfo` lists the ``--format`` values it serves, the artifact suffixes it can score
and the import string of its predictor; the registry finds the exporter of a format through it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import attrs

from medfusion_core.kinds.base import Info, Kind, hookspec, strings

if TYPE_CHECKING:
    from medfusion_core.specs import ComponentSpec


@hookspec
def medfusion_register_exporters() -> list[ComponentSpec] | None:
    """Register exporters.

    Factory signature: ``factory(**params)`` returning an object with
    ``export(run_dir, out_path) -> Path`` that writes a standalone artifact and verifies it.
    ``ExporterInfo(formats=[...])`` lists the ``--format`` values it serves; two plugins serving
    the same format are an ambiguity error.
    """


class Exporter(Protocol):
    """What ``medfusion export`` relies on in an exporter."""

    def export(self, run_dir: str | Path, out_path: str | Path | None = None) -> Path:
        """Write and verify the artifact of the run in ``run_dir``; its path."""
        ...


@attrs.frozen
class ExporterInfo(Info):
    """Exporter metadata.

    Attributes:
        formats: the ``--format`` values served (``onnx``).
        suffixes: artifact file suffixes its predictor can score (``.onnx``).
        predictor: import string of ``predict(artifact: Path, manifest: Path, out: Path) -> Path``.
        deprecated: the format is kept for older deployments only.
    """

    formats: tuple[str, ...] = attrs.field(default=(), converter=strings)
    suffixes: tuple[str, ...] = attrs.field(default=(), converter=strings)
    predictor: str | None = None
    deprecated: bool = False


KIND = Kind("exporter", medfusion_register_exporters, ExporterInfo, Exporter)
