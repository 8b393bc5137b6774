"""``torch.export`` programs saved as ``.pt2`` archives (the modern PyTorch deployment path)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medfusion_core.errors import ExportError
from medfusion_plugin_export.backends.base import EMBEDDED_METADATA

if TYPE_CHECKING:
    import torch
    from torch import nn

    from medfusion_plugin_export.signature import Traced
    from medfusion_plugin_export.verify import Runner


class Pt2Backend:
    """The ``pt2`` format (``.pt2``), loaded with ``torch.export.load``."""

    format = "pt2"
    suffix = ".pt2"

    def save(self, traced: Traced, path: Path, metadata: str) -> None:
        """Save the ``torch.export`` program (shared batch ``Dim``); metadata is an extra file of
        the archive."""
        import torch

        torch.export.save(traced.program, str(path), extra_files={EMBEDDED_METADATA: metadata})

    def export_component(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """``torch.export.export`` one sub-module (static shapes)."""
        import torch

        torch.export.export(module, args, kwargs, strict=False)

    def open(self, path: Path) -> tuple[Runner, list[str]]:
        """Load the archive (once), check every input's batch dimension is symbolic, and return
        the program's module as a :data:`Runner`."""
        import torch

        program = torch.export.load(str(path))
        user_inputs = set(program.graph_signature.user_inputs)
        shapes = [
            node.meta["val"].shape
            for node in program.graph.nodes
            if node.op == "placeholder" and node.name in user_inputs
        ]
        if not shapes or any(isinstance(shape[0], int) for shape in shapes):
            raise ExportError(f"{path}: the exported program has a fixed batch size; it must be dynamic")
        module = program.module()

        def run(batch: tuple[torch.Tensor, ...]) -> np.ndarray:
            with torch.no_grad():
                return module(*batch).detach().cpu().numpy()

        return run, ["torch.export.load", "symbolic batch dimension"]


BACKEND = Pt2Backend()
