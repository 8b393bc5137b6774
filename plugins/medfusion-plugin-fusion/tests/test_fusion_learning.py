"""Every strategy, followed by a linear readout, fits a target that needs both modalities."""

from __future__ import annotations

import medfusion_plugin_fusion.hooks as hooks
import pytest
import torch

from medfusion_core.registry import get_registry
from medfusion_core.testing import conformance


@pytest.mark.parametrize("name", conformance.component_names("fusion", hooks))
def test_fusion_learns_a_cross_modal_target(medfusion_host, name: str) -> None:
    medfusion_host.register(hooks, "medfusion-plugin-fusion")
    torch.manual_seed(0)
    image, clinical = torch.randn(64, 4), torch.randn(64, 3)
    target = image[:, :1] + 2.0 * clinical[:, :1]
    fusion = get_registry().create(
        "fusion", name, {"image": 4, "clinical": 3}, **({} if name == "concat" else {"hidden": 16})
    )
    readout = torch.nn.Linear(fusion.out_features, 1)
    optimizer = torch.optim.Adam([*fusion.parameters(), *readout.parameters()], lr=0.01)
    mask = torch.ones(64, 2, dtype=torch.bool)

    def loss() -> torch.Tensor:
        return torch.nn.functional.mse_loss(
            readout(fusion({"image": image, "clinical": clinical}, mask)), target
        )

    initial = loss().item()
    with conformance.single_thread():
        for _ in range(150):
            optimizer.zero_grad()
            loss().backward()
            optimizer.step()
    assert loss().item() < 0.2 * initial, f"{name}: loss {initial:.3f} -> {loss().item():.3f}"
