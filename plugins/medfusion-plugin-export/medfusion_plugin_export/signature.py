"""The exported model's calling convention: input names, example inputs and the dynamic batch.

Every artifact takes the four positional tensors of ``MultimodalModel.forward`` and returns
``logits [B, num_outputs]``. Only the batch dimension is dynamic, and it is one shared dimension
across all inputs (a single ``torch.export.Dim``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import attrs

from medfusion_core.model import MODEL_INPUTS

if TYPE_CHECKING:
    import torch
    from torch import nn

#: The artifact's input names: the model's inputs, in order.
INPUT_NAMES: tuple[str, ...] = MODEL_INPUTS
OUTPUT_NAMES: tuple[str, ...] = ("logits",)
BATCH_DIM_NAME = "batch"
#: Largest batch the exported programs promise to accept.
MAX_BATCH = 4096


@attrs.frozen
class InputSpec:
    """Static shape of one sample: views ``V``, channels ``C``, spatial size, clinical width ``F``."""

    views: int
    channels: int
    size: tuple[int, ...] = attrs.field(converter=tuple)
    clinical_features: int

    def to_json(self) -> dict[str, Any]:
        """Plain-data form stored in the artifact metadata."""
        return {
            "names": list(INPUT_NAMES),
            "outputs": list(OUTPUT_NAMES),
            "views": self.views,
            "channels": self.channels,
            "size": list(self.size),
            "clinical_features": self.clinical_features,
        }


def random_inputs(spec: InputSpec, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random model inputs of ``batch`` samples: some padded views and some missing modalities
    (never a sample with no view, so every sample exercises the image path)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(batch, spec.views, spec.channels, *spec.size, generator=generator)
    view_mask = torch.rand(batch, spec.views, generator=generator) > 0.3
    view_mask[:, 0] = True
    clinical = torch.randn(batch, spec.clinical_features, generator=generator)
    modality_mask = torch.ones(batch, 2, dtype=torch.bool)
    if batch > 2:
        modality_mask[1, 1] = False
        modality_mask[2, 0] = False
    return images, view_mask, clinical, modality_mask


def batch_dynamic_shapes() -> dict[str, dict[int, Any]]:
    """``dynamic_shapes`` for ``torch.export``/``torch.onnx.export``: one shared batch ``Dim``."""
    import torch

    batch = torch.export.Dim(BATCH_DIM_NAME, min=1, max=MAX_BATCH)
    return {name: {0: batch} for name in INPUT_NAMES}


def input_spec_of(inputs: tuple[torch.Tensor, ...]) -> InputSpec:
    """The :class:`InputSpec` of concrete example inputs."""
    images, _view_mask, clinical, _modality_mask = inputs
    return InputSpec(
        views=int(images.shape[1]),
        channels=int(images.shape[2]),
        size=tuple(int(s) for s in images.shape[3:]),
        clinical_features=int(clinical.shape[1]),
    )


class Traced:
    """A model in eval mode with its example inputs, and its ``torch.export`` program (non-strict,
    one shared batch ``Dim``) computed on first use, so that several formats share one trace."""

    def __init__(self, model: nn.Module, example_inputs: tuple[torch.Tensor, ...]) -> None:
        self.model = model.eval()
        self.example_inputs = example_inputs

    @functools.cached_property
    def program(self) -> torch.export.ExportedProgram:
        """The exported program (exceptions from ``torch.export`` propagate)."""
        import torch

        return torch.export.export(
            self.model, self.example_inputs, dynamic_shapes=batch_dynamic_shapes(), strict=False
        )
