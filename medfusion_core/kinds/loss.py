"""The loss kind: auxiliary losses (e.g. attention supervision) added to the task loss.

Contract: ``factory(**params)`` builds a module whose ``forward`` takes the keyword tensors it
documents (``attention``, ``masks``, ...) and returns a scalar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from medfusion_core.kinds.base import Kind, ModuleInfo, hookspec

if TYPE_CHECKING:
    from torch import Tensor

    from medfusion_core.specs import ComponentSpec


@hookspec
def medfusion_register_losses() -> list[ComponentSpec] | None:
    """Register auxiliary losses (e.g. attention supervision).

    Factory signature: ``factory(**params) -> nn.Module`` whose ``forward`` takes keyword
    tensors it documents (``attention``, ``masks``, ...) and returns a scalar loss.
    """


class Loss(Protocol):
    """What the trainer relies on in an auxiliary loss."""

    def forward(self, **inputs: Tensor) -> Tensor:
        """A scalar loss from the keyword tensors the loss documents."""
        ...


KIND = Kind("loss", medfusion_register_losses, ModuleInfo, Loss)
