"""The backbone kind: an image encoder applied to every view.

Contract: ``factory(name, *, in_chans, pretrained=None, **params)`` (``name`` only for family
specs) builds a module mapping images ``[B, C, H, W]`` (``[B, C, D, H, W]`` when
``BackboneInfo(dims=3)``) to features ``[B, out_features]``; ``forward_features`` gives the feature
map ``[B, feature_channels, h, w]`` and ``pool`` turns it into the features. A backbone may name the
layer that class-activation maps read (:meth:`Backbone.cam_target`, a :class:`CamTarget`) and give
its own attention maps (``attention_maps``); without ``cam_target`` explainers use the feature map.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from medfusion_core.kinds.base import Kind, ModuleInfo, hookspec, single_threaded

if TYPE_CHECKING:
    import torch
    from torch import Tensor, nn

    from medfusion_core.kinds.checking import Target
    from medfusion_core.specs import ComponentSpec


@hookspec
def medfusion_register_backbones() -> list[ComponentSpec] | None:
    """Register image backbones.

    Factory signature: ``factory(name, *, in_chans, pretrained=None, **params) -> nn.Module``.
    The module maps images ``[B, C, H, W]`` (or ``[B, C, D, H, W]`` for ``BackboneInfo(dims=3)``) to
    features ``[B, D]`` and exposes ``out_features: int``. ``pretrained`` is a path to a local
    weights file or ``None``; it never triggers a download. A module that supports gradient
    checkpointing exposes ``set_grad_checkpointing(enable: bool)``. A module may expose
    ``cam_target() -> CamTarget`` (the layer Grad-CAM reads; default: the feature map) and
    ``attention_maps(images) -> Tensor [B, h, w] | None`` (transformers: what the last block
    attends to; ``None`` where a model of the family has no readable attention).
    A spec name ending in ``*`` registers a family (``resnet*``); ``name`` passed to the factory
    is then the concrete name from the config.
    """


class Backbone(Protocol):
    """What the model assembly relies on in a backbone module."""

    out_features: int
    feature_channels: int

    def forward(self, images: Tensor) -> Tensor:
        """Features ``[B, out_features]``; equals ``pool(forward_features(images))``."""
        ...

    def forward_features(self, images: Tensor) -> Tensor:
        """Feature map ``[B, feature_channels, h, w]`` (3D: ``[B, C, d, h, w]``)."""
        ...

    def pool(self, feature_map: Tensor) -> Tensor:
        """Features ``[B, out_features]`` from a feature map."""
        ...


@attrs.frozen
class CamTarget:
    """The layer whose activations and gradients class-activation maps (Grad-CAM) read.

    Attributes:
        module: a sub-module called once per :meth:`Backbone.forward_features`; its output is
            the activation.
        to_map: turns that output into a map ``[B, C, h, w]`` (3D: ``[B, C, d, h, w]``), given the
            spatial size of the input images (token layouts of transformers); ``None`` when the
            output already is one.
    """

    module: nn.Module
    to_map: Callable[[Tensor, tuple[int, ...]], Tensor] | None = None

    def as_map(self, output: Tensor, size: tuple[int, ...]) -> Tensor:
        """The module's ``output`` as a spatial map (see ``to_map``)."""
        return output if self.to_map is None else self.to_map(output, size)


def _optional_ints(value: object) -> tuple[int, ...] | None:
    return None if value is None else tuple(int(v) for v in value)  # type: ignore[attr-defined]


@attrs.frozen
class BackboneInfo(ModuleInfo):
    """Backbone metadata.

    Attributes:
        dims: 2 for images, 3 for volumes.
        input_size: the spatial input size the conformance kit uses (e.g. ``(32, 32)``), when the
            default one does not fit the model.
    """

    dims: int = attrs.field(default=2, validator=attrs.validators.in_((2, 3)))
    input_size: tuple[int, ...] | None = attrs.field(default=None, converter=_optional_ints)


@single_threaded
def check_backbone(
    spec: Target,
    *,
    in_chans: int = 1,
    input_size: tuple[int, ...] | None = None,
    dims: int | None = None,
    params: Mapping[str, Any] | None = None,
    allow_no_grad: Iterable[str] = (),
    seed: int = 0,
) -> nn.Module:
    """Check a backbone: ``out_features``, ``feature_channels``, ``forward_features(x)`` ->
    ``[B, C, h, w]`` (3D: ``[B, C, d, h, w]``), ``pool(map)`` -> ``[B, out_features]``,
    ``forward == pool(forward_features)``, and ``set_grad_checkpointing`` and ``cam_target`` (its
    module runs once per forward, its map has the right rank and carries gradient) when present.

    ``spec.build`` is called as ``build(in_chans=..., pretrained=None, **params)``; ``dims`` and
    ``input_size`` default to the spec's :class:`BackboneInfo`.
    """
    import torch

    from medfusion_core.kinds import checking as kit

    info = spec.info if isinstance(spec.info, BackboneInfo) else BackboneInfo()
    dims = int(dims or info.dims)
    size = tuple(input_size or info.input_size or ((16,) * 3 if dims == 3 else (32, 32)))
    assert len(size) == dims, f"{spec.label}: input_size {size} does not match dims={dims}"
    shape = (3, in_chans, *size)

    def build() -> nn.Module:
        return spec.build(in_chans=in_chans, pretrained=None, **dict(params or {}))

    def make_inputs() -> kit.Inputs:
        return (kit.randn(torch.Generator().manual_seed(seed), *shape),), {}

    module = spec.check(
        build,
        make_inputs,
        seed=seed,
        allow_no_grad=allow_no_grad,
        grad_inputs=lambda inputs: [("images", inputs[0][0])],
    )
    width = kit.out_features(spec.label, module)
    channels = getattr(module, "feature_channels", None)
    assert isinstance(channels, int) and channels > 0, f"{spec.label}: feature_channels must be an int > 0"
    x = make_inputs()[0][0]
    with torch.no_grad():
        feature_map = module.forward_features(x)
        assert isinstance(feature_map, torch.Tensor) and feature_map.ndim == dims + 2, (
            f"{spec.label}: forward_features must return [B, C, {'d, ' if dims == 3 else ''}h, w]"
        )
        assert feature_map.shape[:2] == (3, channels), (
            f"{spec.label}: feature map starts {tuple(feature_map.shape[:2])}, expected (3, {channels})"
        )
        pooled = module.pool(feature_map)
        kit.assert_shape(spec.label, "pool(feature map)", pooled, (3, width))
        kit.assert_same(
            spec.label,
            "forward vs pool(forward_features)",
            module(x),
            pooled,
        )
    if hasattr(module, "set_grad_checkpointing"):
        _check_checkpointing(spec.label, module, x)
    if hasattr(module, "cam_target"):
        _check_cam_target(spec.label, module, x, dims)
    return module


def _check_cam_target(label: str, module: nn.Module, x: torch.Tensor, dims: int) -> None:
    """``cam_target()`` names a sub-module that runs in ``forward_features`` and whose output, as
    a map, is ``[B, C, *spatial]`` and carries gradient to the features."""
    import torch

    target = module.cam_target()
    assert isinstance(target, CamTarget), f"{label}: cam_target() must return a CamTarget"
    seen: list[torch.Tensor] = []
    handle = target.module.register_forward_hook(lambda _m, _i, out: seen.append(out))
    try:
        features = module(x)
    finally:
        handle.remove()
    assert len(seen) == 1, f"{label}: the cam_target module ran {len(seen)} times in forward, expected 1"
    activation = target.as_map(seen[0], tuple(x.shape[2:]))
    assert activation.ndim == dims + 2 and activation.shape[0] == x.shape[0], (
        f"{label}: cam_target map has shape {tuple(activation.shape)}, expected [B, C, *{dims} spatial]"
    )
    (grad,) = torch.autograd.grad(features.sum(), seen[0], allow_unused=True)
    assert grad is not None, f"{label}: the features do not depend on the cam_target output"


def _seeded_forward(module: nn.Module, x: torch.Tensor, seed: int) -> torch.Tensor:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return module(x)


def _check_checkpointing(label: str, module: nn.Module, x: torch.Tensor) -> None:

    from medfusion_core.kinds import checking as kit

    module.train()
    reference = _seeded_forward(module, x, 0)
    module.set_grad_checkpointing(True)
    try:
        with_ckpt = _seeded_forward(module, x.clone().requires_grad_(True), 0)
        with_ckpt.sum().backward()
    finally:
        module.set_grad_checkpointing(False)
        module.zero_grad(set_to_none=True)
        module.eval()
    kit.assert_same(
        label,
        "gradient checkpointing changed the output",
        reference.detach(),
        with_ckpt.detach(),
        atol=1e-5,
        rtol=1e-4,
    )


KIND = Kind("backbone", medfusion_register_backbones, BackboneInfo, Backbone, check_backbone)
