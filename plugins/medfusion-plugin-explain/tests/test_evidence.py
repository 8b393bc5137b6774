"""The lesion-mask evidence as table rows and terminal lines, and how a run was supervised."""

from __future__ import annotations

from medfusion_plugin_explain.evidence import MASK_HEADER, mask_lines, mask_rows, supervision

from medfusion_core.config import structure_config

SCORES = {
    "fused": {
        "gradcam": {"views": 12, "pointing_game": 0.75, "iou": 0.4123, "mass_inside": None},
        "attention_module": {"views": 12, "pointing_game": 1.0, "iou": 0.6, "mass_inside": 0.55},
    },
    "image-only": None,
}


def test_rows_and_lines_per_variant_and_map():
    rows = mask_rows(SCORES)
    assert len(MASK_HEADER) == 6
    assert rows == [
        ["fused", "gradcam", "12", "0.750", "0.412", "n/a"],
        ["fused", "attention_module", "12", "1.000", "0.600", "0.550"],
    ]
    assert mask_lines(SCORES)[1] == (
        "fused attention_module: pointing game 1.000, IoU 0.600, mass inside 0.550 (12 test views)"
    )
    assert mask_rows({"image-only": None}) == [] == mask_lines({})


def _config(model: dict) -> object:
    return structure_config({"name": "x", "data": {"manifest": "m.csv"}, "model": model}, "x")


def test_supervision_names_the_loss_and_its_weight():
    assert supervision(_config({})) == "none"
    supervised = {"attention_loss": {"name": "mask_guided"}, "attention_loss_weight": 5.0}
    assert supervision(_config(supervised)) == "mask_guided (weight 5)"
