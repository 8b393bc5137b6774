"""The fusion kind: combine one feature vector per modality into one, under a modality mask.

Contract: ``factory(in_features: dict[str, int], **params)`` builds a module whose
``forward(features: dict[str, Tensor[B, D_m]], mask: Tensor[B, M] bool)`` returns
``[B, out_features]``; ``mask[:, i]`` is True where modality ``i`` (in the order of
``in_features``) is present. A masked modality must have no influence on the output.

:class:`Fusion` is the base class first-party fusions derive from: it validates
``in_features``, replaces the features of masked modalities by zeros before :meth:`Fusion.fuse`
sees them (so their values can never reach the output; the mask itself may) and applies output
dropout. It is built on first access, so importing this module never imports torch.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from medfusion_core.kinds.base import Kind, ModuleInfo, hookspec, single_threaded

if TYPE_CHECKING:
    import torch
    from torch import Tensor, nn

    from medfusion_core.kinds.checking import Target
    from medfusion_core.specs import ComponentSpec


@hookspec
def medfusion_register_fusions() -> list[ComponentSpec] | None:
    """Register fusion strategies.

    Factory signature: ``factory(in_features: dict[str, int], **params) -> nn.Module``.
    ``forward(features: dict[str, Tensor[B, D_m]], mask: Tensor[B, M] bool)`` returns
    ``[B, out_features]``; ``mask[:, i]`` is True where modality ``i`` (in the order of
    ``in_features``) is present. A masked modality must have no influence on the output.
    Subclass :class:`medfusion_core.kinds.fusion.Fusion` to get the masking for free.
    """


class FusionModule(Protocol):
    """What the model assembly relies on in a fusion module."""

    out_features: int

    def forward(self, features: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """``[B, out_features]`` from one ``[B, D_m]`` tensor per modality and ``mask [B, M]``."""
        ...


_BUILDING = threading.Lock()


def _fusion_base() -> type:
    """Define :class:`Fusion` (imports torch)."""
    from torch import nn

    from medfusion_core.components import check_positive, zero_masked
    from medfusion_core.errors import ConfigError

    class Fusion(nn.Module):
        """Base class: validates ``in_features``, zeroes masked modalities, applies output dropout.

        Subclasses set ``out_features`` and implement :meth:`fuse`.

        Attributes:
            names: modality names in mask-column order.
            widths: feature width per modality, same order.
            out_features: width of the fused output.
        """

        out_features: int

        def __init__(
            self, in_features: Mapping[str, int], *, dropout: float = 0.0, min_modalities: int = 2
        ) -> None:
            super().__init__()
            if not isinstance(in_features, Mapping) or len(in_features) < min_modalities:
                name, given = type(self).__name__, dict(in_features)
                raise ConfigError(f"{name} needs at least {min_modalities} modalities, got {given!r}")
            self.names: list[str] = list(in_features)
            self.widths: list[int] = [
                check_positive(f"in_features[{n!r}]", w) for n, w in in_features.items()
            ]
            if not 0.0 <= float(dropout) < 1.0:
                raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}")
            self.dropout = nn.Dropout(float(dropout))

        def forward(self, features: Mapping[str, Tensor], mask: Tensor) -> Tensor:
            """Fuse ``features`` (one ``[B, D_m]`` tensor per modality) under ``mask [B, M]``."""
            inputs = [zero_masked(features[name], mask[:, i]) for i, name in enumerate(self.names)]
            return self.dropout(self.fuse(inputs, mask))

        def fuse(self, inputs: list[Tensor], mask: Tensor) -> Tensor:
            """Combine the masked-to-zero inputs (in :attr:`names` order) into ``[B, out_features]``."""
            raise NotImplementedError

    Fusion.__module__, Fusion.__qualname__ = __name__, "Fusion"
    return Fusion


def __getattr__(name: str) -> Any:
    """Module attribute hook: ``Fusion`` is defined (once, thread-safely) on first access."""
    if name != "Fusion":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _BUILDING:
        if "Fusion" not in globals():
            globals()["Fusion"] = _fusion_base()
    return globals()["Fusion"]


def _fusion_mask(modalities: int) -> torch.Tensor:
    """Rows: modality i missing (one row each), everything present, everything missing."""
    import torch

    rows = [[j != i for j in range(modalities)] for i in range(modalities)]
    rows += [[True] * modalities, [False] * modalities]
    return torch.tensor(rows, dtype=torch.bool)


@single_threaded
def check_fusion(
    spec: Target,
    *,
    in_features: Mapping[str, int] | None = None,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> nn.Module:
    """Check a fusion: ``factory(in_features, **params)``, ``forward(features, mask) -> [B, D]``.

    Default modalities are ``{"image": 12, "clinical": 7}``. Returns the built module.
    """
    import torch

    from medfusion_core.kinds import checking as kit

    widths = dict(in_features or {"image": 12, "clinical": 7})
    names = list(widths)
    mask = _fusion_mask(len(names))
    batch = mask.shape[0]

    def build() -> nn.Module:
        return spec.build(dict(widths), **dict(params or {}))

    def features(offset: int) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(seed + offset)
        return {name: kit.randn(generator, batch, width) for name, width in widths.items()}

    def make_inputs() -> kit.Inputs:
        return (features(0), mask.clone()), {}

    def full_inputs() -> kit.Inputs:
        return (features(0), torch.ones_like(mask)), {}

    module = spec.check(
        build,
        full_inputs,
        seed=seed,
        grad_inputs=lambda inputs: [(f"features[{name!r}]", inputs[0][0][name]) for name in names],
    )
    width = kit.out_features(spec.label, module)
    with torch.no_grad():
        reference = module(*make_inputs()[0])
        kit.assert_shape(spec.label, "output", reference, (batch, width))
        assert torch.isfinite(reference).all(), f"{spec.label}: non-finite output with masked modalities"
        noise = features(1)
        for index, name in enumerate(names):
            perturbed = features(0)
            absent = ~mask[:, index]
            perturbed[name] = kit.scrambled(perturbed[name], noise[name], absent)
            kit.assert_same(
                spec.label,
                f"masked modality {name!r} changed",
                reference,
                module(perturbed, mask),
            )
    return module


KIND = Kind("fusion", medfusion_register_fusions, ModuleInfo, FusionModule, check_fusion)
