"""TorchScript (``torch.jit.trace``), kept for older deployments; deprecated upstream in favour
of ``torch.export`` — prefer the ``pt2`` or ``onnx`` formats."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medfusion_plugin_export.backends.base import EMBEDDED_METADATA

if TYPE_CHECKING:
    import torch
    from torch import nn

    from medfusion_plugin_export.signature import Traced
    from medfusion_plugin_export.verify import Runner


class TorchScriptBackend:
    """The ``torchscript`` format (``.ts``), loaded with ``torch.jit.load``."""

    format = "torchscript"
    suffix = ".ts"

    def save(self, traced: Traced, path: Path, metadata: str) -> None:
        """Trace the model with ``torch.jit.trace`` and save it with the metadata as an extra file."""
        import torch

        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            script = torch.jit.trace(traced.model, traced.example_inputs, check_trace=False)
            torch.jit.save(script, str(path), _extra_files={EMBEDDED_METADATA: metadata})

    def export_component(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Trace one sub-module."""
        import torch

        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.jit.trace(module, args or None, example_kwarg_inputs=kwargs or None, check_trace=False)

    def open(self, path: Path) -> tuple[Runner, list[str]]:
        """Load the archive with ``torch.jit.load`` and return it as a :data:`Runner`."""
        import torch

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(str(path), map_location="cpu")

        def run(batch: tuple[torch.Tensor, ...]) -> np.ndarray:
            with torch.no_grad():
                return module(*batch).detach().cpu().numpy()

        return run, ["torch.jit.load"]


BACKEND = TorchScriptBackend()
