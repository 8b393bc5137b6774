"""The aggregator kind: pool a variable number of views of one patient into one feature vector.

Contract: ``factory(in_features: int, **params)`` builds a module whose
``forward(views: Tensor[B, V, D], mask: Tensor[B, V] bool)`` returns ``[B, out_features]``;
padded views (mask False) must have no influence. Modules with per-view weights store the last
ones in ``view_weights: Tensor[B, V]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from medfusion_core.kinds.base import Kind, ModuleInfo, hookspec

if TYPE_CHECKING:
    from torch import Tensor

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


KIND = Kind("aggregator", medfusion_register_aggregators, ModuleInfo, Aggregator)
