"""Every aggregator passes the conformance kit; reference results against numpy."""

from __future__ import annotations

import medfusion_plugin_aggregators.hooks as hooks
import numpy as np
import pytest
import torch

from medfusion_core.errors import ConfigError, DataError
from medfusion_core.registry import get_registry
from medfusion_core.testing import conformance

NAMES = conformance.component_names("aggregator", hooks)
SMALL = {"transformer": {"hidden": 8, "heads": 2}, "attention_mil": {"attention_dim": 4}}


@pytest.fixture
def registry(medfusion_host):
    medfusion_host.register(hooks, "medfusion-plugin-aggregators")
    return get_registry()


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    views = torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(3))
    mask = torch.tensor(
        [[True, True, True], [True, False, True], [False, True, False], [False, False, False]]
    )
    return views, mask


def test_all_six_are_registered() -> None:
    expected = ["attention_mil", "gated_attention_mil", "learned_weights", "max", "mean", "transformer"]
    assert expected == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_aggregator_conforms(registry, name: str) -> None:
    conformance.check_aggregator(name, params=SMALL.get(name))


@pytest.mark.parametrize("name", NAMES)
def test_empty_row_is_zeros_and_weights_sum_to_one(registry, name: str) -> None:
    torch.manual_seed(0)
    aggregator = registry.create("aggregator", name, 5, **SMALL.get(name, {})).eval()
    views, mask = _batch()
    views[~mask] = float("nan")
    with torch.no_grad():
        out = aggregator(views, mask)
    assert torch.isfinite(out).all()
    assert torch.equal(out[3], torch.zeros(aggregator.out_features))
    if aggregator.view_weights is not None:
        sums = aggregator.view_weights.sum(dim=1)
        torch.testing.assert_close(sums, torch.tensor([1.0, 1.0, 1.0, 0.0]))


def test_mean_and_max_match_numpy(registry) -> None:
    views, mask = _batch()
    array, present = views.numpy(), mask.numpy()
    with torch.no_grad():
        mean = registry.create("aggregator", "mean", 5)(views, mask).numpy()
        largest = registry.create("aggregator", "max", 5)(views, mask).numpy()
    for row in range(3):
        np.testing.assert_allclose(mean[row], array[row][present[row]].mean(axis=0), rtol=1e-6)
        np.testing.assert_allclose(largest[row], array[row][present[row]].max(axis=0))


def test_attention_mil_matches_the_formula(registry) -> None:
    torch.manual_seed(0)
    mil = registry.create("aggregator", "gated_attention_mil", 5, attention_dim=4).eval()
    views, mask = _batch()
    with torch.no_grad():
        out = mil(views, mask)
        for row in range(3):
            h = views[row][mask[row]]
            score = mil.score(torch.tanh(mil.hidden(h)) * torch.sigmoid(mil.gate(h))).squeeze(-1)
            weights = torch.softmax(score, dim=0)
            torch.testing.assert_close(out[row], (weights[:, None] * h).sum(dim=0))
            torch.testing.assert_close(mil.view_weights[row][mask[row]], weights)


def test_learned_weights_follow_the_position_logits(registry) -> None:
    aggregator = registry.create("aggregator", "learned_weights", 5, max_views=3)
    with torch.no_grad():
        aggregator.logits.copy_(torch.tensor([0.0, 5.0, np.log(3.0)]))
        views, mask = _batch()
        aggregator(views, mask)
    torch.testing.assert_close(aggregator.view_weights[1], torch.tensor([0.25, 0.0, 0.75]))
    with pytest.raises(DataError, match="max_views is 3"):
        aggregator(torch.zeros(1, 4, 5), torch.ones(1, 4, dtype=torch.bool))


def test_transformer_rejects_bad_heads(registry) -> None:
    with pytest.raises(ConfigError, match="divisible by heads"):
        registry.create("aggregator", "transformer", 5, hidden=6, heads=4)
