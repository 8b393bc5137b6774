"""The aggregator kind: pool a variable number of views of one patient into one feature vector.

Contract: ``factory(in_features: int, **params)`` builds a module whose
``forward(views: Tensor[B, V, D], mask: Tensor[B, V] bool)`` returns ``[B, out_features]``;
padded views (mask False) must have no influence. Modules with per-view weights store the last
ones in ``view_weights: Tensor[B, V]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from medfusion_core.kinds.base import Kind, ModuleInfo, hookspec, single_threaded

if TYPE_CHECKING:
    import torch
    from torch import Tensor, nn

    from medfusion_core.kinds.checking import Target
    from medfusion_core.specs import ComponentSpec


@hookspec
def medfusion_register_aggregators() -> list[ComponentSpec] | None:
    """Register multi-view aggregators.

    Factory signature: ``factory(in_features: int, **params) -> nn.Module``.
    ``forward(views: Tensor[B, V, D], mask: Tensor[B, V] bool)`` returns ``[B, out_features]``;
    padded views (mask False) must have no influence. Modules with per-view weights store the
    last ones in ``view_weights: Tensor[B, V]``.
    """


class Aggregator(Protocol):
    """What the model assembly relies on in an aggregator module."""

    out_features: int

    def forward(self, views: Tensor, mask: Tensor) -> Tensor:
        """``[B, out_features]`` from ``views [B, V, D]`` and ``mask [B, V]``."""
        ...


#: Views present per row in the aggregator check (V = 4): all, two, one, none.
_VIEW_COUNTS = (4, 2, 1, 0)


@single_threaded
def check_aggregator(
    spec: Target,
    *,
    in_features: int = 10,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> nn.Module:
    """Check an aggregator: ``factory(in_features, **params)``, ``forward(views, mask) -> [B, D]``."""
    import torch

    from medfusion_core.kinds import checking as kit

    views_n = max(_VIEW_COUNTS)
    mask = torch.tensor([[v < count for v in range(views_n)] for count in _VIEW_COUNTS], dtype=torch.bool)
    batch = mask.shape[0]

    def build() -> nn.Module:
        return spec.build(in_features, **dict(params or {}))

    def views(offset: int) -> torch.Tensor:
        return kit.randn(torch.Generator().manual_seed(seed + offset), batch, views_n, in_features)

    def full_inputs() -> kit.Inputs:
        return (views(0), torch.ones_like(mask)), {}

    module = spec.check(
        build,
        full_inputs,
        seed=seed,
        grad_inputs=lambda inputs: [("views", inputs[0][0])],
    )
    width = kit.out_features(spec.label, module)
    with torch.no_grad():
        reference = module(views(0), mask)
        kit.assert_shape(spec.label, "output", reference, (batch, width))
        assert torch.isfinite(reference).all(), f"{spec.label}: non-finite output (a row has no views)"
        weights = getattr(module, "view_weights", None)
        if weights is not None:
            kit.assert_shape(spec.label, "view_weights", weights, (batch, views_n))
            leaked = weights[~mask].abs().max().item() if (~mask).any() else 0.0
            assert leaked <= kit.MASK_TOLERANCE, f"{spec.label}: padded views get weight {leaked:.3g}"
        perturbed = views(0)
        perturbed = kit.scrambled(perturbed, views(1), ~mask)
        kit.assert_same(
            spec.label,
            "padded views changed",
            reference,
            module(perturbed, mask),
        )
    return module


KIND = Kind("aggregator", medfusion_register_aggregators, ModuleInfo, Aggregator, check_aggregator)
