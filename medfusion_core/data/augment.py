"""Training augmentation parameters, sampled in Python so every kernel backend gives the same
batch, and reproducible from ``(seed, epoch, patient index)`` alone (resumable mid-epoch)."""

from __future__ import annotations

import math

import attrs
import numpy as np

from medfusion_core.config import AugmentConfig

#: Uniform numbers drawn per view, whatever the config enables (keeps draws aligned).
DRAWS_PER_VIEW = 7


@attrs.frozen
class ViewAugment:
    """What happens to one view: ``crop`` as ``(side, top, left)`` fractions
    (:func:`medfusion_core.viewops.crop_box` gives the box on an image; ``None``: whole image),
    per-axis ``flip``, rotation in degrees, and the intensity ``scale``/``shift`` on normalised
    values."""

    crop: tuple[float, float, float] | None = None
    flip: tuple[bool, ...] = (False, False)
    degrees: float = 0.0
    scale: float = 1.0
    shift: float = 0.0


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of patient ``index`` in ``epoch``: ``np.random.default_rng([seed, epoch,
    index])``, built directly (same stream, half the cost)."""
    return np.random.Generator(np.random.PCG64([seed, epoch, index]))


def identity(spatial: int) -> ViewAugment:
    """No augmentation for an image with ``spatial`` axes."""
    return ViewAugment(flip=(False,) * spatial)


def sample_views(
    rng: np.random.Generator, config: AugmentConfig, count: int, spatial: int
) -> list[ViewAugment]:
    """Draw the augmentation of ``count`` views, one after the other from ``rng``.

    Each view takes the next 7 uniforms ``u`` of ``rng.random``: ``u0 < 0.5`` flips the last
    axis (when ``flip``); the crop keeps area fraction ``crop_scale + u1 * (1 - crop_scale)`` at
    the image's aspect ratio, so ``side = sqrt(fraction)``, placed at ``u2``/``u3`` of the free
    range (2D only); ``degrees = (2 u4 - 1) rotate_degrees`` (2D only);
    ``scale = 1 + (2 u5 - 1) intensity`` and ``shift = (2 u6 - 1) intensity``.
    """
    draws = rng.random(DRAWS_PER_VIEW * count).reshape(count, DRAWS_PER_VIEW).tolist()
    return [_view(u, config, spatial) for u in draws]


def _view(u: list[float], config: AugmentConfig, spatial: int) -> ViewAugment:
    """The augmentation of one view from its 7 uniforms (see :func:`sample_views`)."""
    flip = (False,) * (spatial - 1) + (bool(config.flip and u[0] < 0.5),)
    crop = None
    degrees = 0.0
    if spatial == 2:
        if config.crop_scale < 1.0:
            crop = (math.sqrt(config.crop_scale + u[1] * (1.0 - config.crop_scale)), u[2], u[3])
        degrees = (2.0 * u[4] - 1.0) * config.rotate_degrees
    scale = 1.0 + (2.0 * u[5] - 1.0) * config.intensity
    shift = (2.0 * u[6] - 1.0) * config.intensity
    return ViewAugment(crop=crop, flip=flip, degrees=degrees, scale=scale, shift=shift)
