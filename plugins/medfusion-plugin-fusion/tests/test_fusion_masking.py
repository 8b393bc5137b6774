"""Missing modalities have no influence, even when their features are NaN; strategy-specific facts."""

from __future__ import annotations

import medfusion_plugin_fusion.hooks as hooks
import pytest
import torch

from medfusion_core.errors import ConfigError
from medfusion_core.registry import get_registry
from medfusion_core.testing import conformance

WIDTHS = {"image": 6, "clinical": 4}


@pytest.fixture
def registry(medfusion_host):
    medfusion_host.register(hooks, "medfusion-plugin-fusion")
    return get_registry()


def _features(batch: int = 4) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(7)
    return {name: torch.randn(batch, width, generator=generator) for name, width in WIDTHS.items()}


@pytest.mark.parametrize("name", conformance.component_names("fusion", hooks))
def test_nan_features_of_a_missing_modality_change_nothing(registry, name: str) -> None:
    torch.manual_seed(0)
    fusion = registry.create("fusion", name, dict(WIDTHS)).eval()
    mask = torch.tensor([[True, False], [False, True], [True, True], [False, False]])
    features = _features()
    with torch.no_grad():
        reference = fusion(features, mask)
        poisoned = {key: value.clone() for key, value in features.items()}
        poisoned["clinical"][~mask[:, 1]] = float("nan")
        poisoned["image"][~mask[:, 0]] = float("inf")
        result = fusion(poisoned, mask)
    assert torch.isfinite(result).all()
    assert torch.equal(reference, result)
    assert not torch.equal(reference[0], reference[2]), "the mask must matter"


def test_film_is_identity_modulation_without_clinical(registry) -> None:
    torch.manual_seed(0)
    film = registry.create("fusion", "film", dict(WIDTHS), hidden=5).eval()
    features = _features(2)
    mask = torch.tensor([[True, False], [True, False]])
    with torch.no_grad():
        out = film(features, mask)
        expected = torch.relu(film.project[0](features["image"]))
    torch.testing.assert_close(out[:, :5], expected)
    assert torch.equal(out[:, 5:], torch.zeros(2, 5))


def test_tensor_fusion_matches_explicit_outer_product(registry) -> None:
    torch.manual_seed(0)
    tfn = registry.create("fusion", "tensor", dict(WIDTHS), rank=3, hidden=5).eval()
    features = _features(3)
    mask = torch.ones(3, 2, dtype=torch.bool)
    with torch.no_grad():
        z = [
            torch.cat([r(features[n]), torch.ones(3, 1)], 1) for r, n in zip(tfn.reduce, WIDTHS, strict=True)
        ]
        outer = torch.einsum("bi,bj->bij", z[0], z[1]).reshape(3, -1)
        torch.testing.assert_close(tfn(features, mask), tfn.project(outer))


def test_low_rank_equals_tensor_fusion_with_the_reconstructed_weight(registry) -> None:
    torch.manual_seed(0)
    lmf = registry.create("fusion", "low_rank", dict(WIDTHS), rank=2, hidden=3).eval()
    features = _features(3)
    mask = torch.tensor([[True, True], [True, False], [False, True]])
    a, c = (torch.cat([features[n] * mask[:, i : i + 1], torch.ones(3, 1)], 1) for i, n in enumerate(WIDTHS))
    full_weight = torch.einsum("r,rih,rjh->ijh", lmf.rank_weights, lmf.factors[0], lmf.factors[1])
    expected = torch.einsum("bi,bj,ijh->bh", a, c, full_weight) + lmf.bias
    with torch.no_grad():
        torch.testing.assert_close(lmf(features, mask), expected)


@pytest.mark.parametrize(
    ("name", "in_features", "params", "message"),
    [
        ("film", {"image": 4, "labs": 3}, {}, "condition 'clinical' is not one of the modalities"),
        ("cross_attention", WIDTHS, {"hidden": 6, "heads": 4}, "divisible by heads"),
        ("gated", {"image": 4}, {}, "at least 2 modalities"),
        ("tensor", WIDTHS, {"rank": 0}, "rank must be a positive integer"),
    ],
)
def test_bad_parameters_raise_config_errors(registry, name, in_features, params, message) -> None:
    with pytest.raises(ConfigError, match=message):
        registry.create("fusion", name, dict(in_features), **params)
