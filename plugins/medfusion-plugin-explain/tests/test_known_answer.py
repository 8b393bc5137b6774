"""Grad-CAM on a model with a known answer (the lesion is the label) and the randomised-weights
sanity check (Adebayo et al.) on the same model."""

from __future__ import annotations

import torch
from explain_helpers import batch_of, lesion_images
from medfusion_plugin_explain.cam import METHODS, class_activation_maps
from medfusion_plugin_explain.sanity import randomised, rank_correlation
from medfusion_plugin_explain.scores import iou, mask_scores, pointing_hit

#: The lesion covers 64 / 1024 = 6.25 % of the image; a map that found it puts most mass there.
MASS_INSIDE = 0.5


def _positives():
    images, masks, labels = lesion_images(64, seed=3)
    keep = labels == 1
    return batch_of(images[keep]), masks[keep]


def test_model_learnt_the_lesion(lesion_model):
    assert lesion_model[1] >= 0.9


def test_gradcam_mass_lies_on_the_lesion(lesion_model):
    model, _ = lesion_model
    batch, masks = _positives()
    maps, _ = class_activation_maps(model, batch, task="binary")
    for method in METHODS:
        scores = [mask_scores(maps[method][i, 0], masks[i]) for i in range(len(masks))]
        mass = sum(s["mass_inside"] for s in scores) / len(scores)
        hits = sum(s["pointing_hit"] for s in scores) / len(scores)
        print(f"{method}: mass inside {mass:.3f}, pointing game {hits:.3f}")
        assert mass > MASS_INSIDE, method
        assert hits >= 0.9, method


def test_maps_change_when_weights_are_randomised(lesion_model):
    """Rank correlation of the trained model's maps with those of three randomised copies is low
    on average (the maps of one model repeat exactly), and the lesion loses the map's mass."""
    model, _ = lesion_model
    batch, masks = _positives()
    maps, _ = class_activation_maps(model, batch, task="binary")
    again, _ = class_activation_maps(model, batch, task="binary")
    copies = [class_activation_maps(randomised(model, seed=s), batch, task="binary")[0] for s in range(3)]
    count = len(masks)
    for method in METHODS:
        same = [rank_correlation(maps[method][i, 0], again[method][i, 0]) for i in range(count)]
        other = [rank_correlation(maps[method][i, 0], m[method][i, 0]) for m in copies for i in range(count)]
        mass = [mask_scores(maps[method][i, 0], masks[i])["mass_inside"] for i in range(count)]
        random_mass = [
            mask_scores(m[method][i, 0], masks[i])["mass_inside"] for m in copies for i in range(count)
        ]
        correlation = sum(other) / len(other)
        print(
            f"{method}: rank correlation with randomised weights {correlation:.3f}; mass inside "
            f"{sum(mass) / count:.3f} trained, {sum(random_mass) / len(random_mass):.3f} randomised"
        )
        assert min(same) > 0.999
        assert correlation < 0.5, method
        assert sum(random_mass) / len(random_mass) < 0.5 * sum(mass) / count, method


def test_randomised_copy_leaves_the_model_alone(lesion_model):
    model, _ = lesion_model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    clone = randomised(model)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert any(not torch.equal(before[k], v) for k, v in clone.state_dict().items() if v.is_floating_point())


def test_mask_scores_by_hand():
    saliency = torch.zeros(4, 4)
    saliency[0, 0], saliency[0, 1], saliency[3, 3] = 1.0, 0.6, 0.2
    mask = torch.zeros(4, 4)
    mask[0, :2] = 1.0
    assert pointing_hit(saliency, mask)
    assert iou(saliency, mask) == 1.0  # the region >= 0.5 is exactly the two masked cells
    assert abs(mask_scores(saliency, mask)["mass_inside"] - 1.6 / 1.8) < 1e-6
    mask[:] = 0.0
    mask[3, 3] = 1.0
    assert not pointing_hit(saliency, mask) and iou(saliency, mask) == 0.0
    gate = 0.4 + 0.5 * saliency  # a sigmoid gate's floor: the region is still half its range
    mask[:] = 0.0
    mask[0, :2] = 1.0
    assert iou(gate, mask) == 1.0
    flat = torch.full((4, 4), 0.7)
    flat[0, 0] += 1e-7  # equal up to rounding, as an upsampled 1x1 feature map
    assert iou(flat, mask) == 0.0 and not pointing_hit(flat, mask), "a constant map points nowhere"
