"""Every fusion strategy passes the conformance kit, with two and with three modalities."""

from __future__ import annotations

import medfusion_plugin_fusion.hooks as hooks
import pytest

from medfusion_core.testing import conformance

PLUGIN = "medfusion-plugin-fusion"
NAMES = conformance.component_names("fusion", hooks)


def test_all_nine_strategies_are_registered() -> None:
    assert (
        sorted(
            [
                "concat",
                "gated",
                "attention",
                "cross_attention",
                "bilinear",
                "tensor",
                "low_rank",
                "film",
                "daft",
            ]
        )
        == NAMES
    )


@pytest.mark.parametrize("name", NAMES)
def test_fusion_conforms_with_two_modalities(medfusion_host, name: str) -> None:
    medfusion_host.register(hooks, PLUGIN)
    conformance.check_fusion(name, params={"hidden": 8} if name != "concat" else None)


@pytest.mark.parametrize("name", NAMES)
def test_fusion_conforms_with_three_modalities(medfusion_host, name: str) -> None:
    medfusion_host.register(hooks, PLUGIN)
    widths = {"image": 6, "clinical": 5, "genomics": 4}
    conformance.check_fusion(name, in_features=widths, params={"hidden": 8}, exportable=False)
