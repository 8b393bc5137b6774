"""The loss kind: auxiliary losses (e.g. attention supervision) added to the task loss.

Contract: ``factory(**params)`` builds a module whose ``forward`` takes the keyword tensors it
documents (``attention``, ``masks``, ...) and returns a scalar.
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


def _default_loss_inputs(seed: int) -> dict[str, torch.Tensor]:
    import torch

    generator = torch.Generator().manual_seed(seed)
    return {
        "attention": torch.rand(3, 1, 8, 8, generator=generator),
        "masks": (torch.rand(3, 1, 8, 8, generator=generator) > 0.5).float(),
    }


@single_threaded
def check_loss(
    spec: Target,
    *,
    inputs: Mapping[str, torch.Tensor] | None = None,
    grad_input: str | None = "attention",
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> nn.Module:
    """Check a loss: ``factory(**params)``, ``forward(**inputs)`` -> finite scalar.

    ``inputs`` defaults to attention supervision (``attention`` in [0, 1] and binary ``masks``,
    both ``[3, 1, 8, 8]``); ``grad_input`` names the keyword that must receive a gradient.
    """
    import torch

    from medfusion_core.kinds import checking as kit

    given = dict(inputs) if inputs is not None else None

    def build() -> nn.Module:
        return spec.build(**dict(params or {}))

    def make_inputs() -> kit.Inputs:
        source = given if given is not None else _default_loss_inputs(seed)
        return (), {key: value.detach().clone() for key, value in source.items()}

    module = spec.check(
        build,
        make_inputs,
        seed=seed,
        grad_inputs=lambda ins: [(grad_input, ins[1][grad_input])] if grad_input else [],
    )
    with torch.no_grad():
        value = kit.run(module, make_inputs())
    kit.assert_shape(spec.label, "loss", value, ())
    return module


KIND = Kind("loss", medfusion_register_losses, ModuleInfo, Loss, check_loss)
