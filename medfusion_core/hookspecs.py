"""The plugin contract: one pluggy hook per component kind.

Every hook takes no arguments and returns a list of :class:`~medfusion_core.specs.ComponentSpec`
(or ``None``). A hook must be cheap: it describes components by import string and must not
import torch or build models. The host calls each plugin's implementation on its own, so a
plugin whose hook raises is marked failed without affecting the others.

Plugin authors implement hooks with :data:`hookimpl`::

    from medfusion_core import ComponentSpec, hookimpl

    @hookimpl
    def medfusion_register_fusions():
        return [ComponentSpec("my_fusion", "fusion", "my_pkg.fusion:MyFusion", "one line")]
"""

from __future__ import annotations

import pluggy

from medfusion_core.kinds.tracker import medfusion_register_trackers
from medfusion_core.specs import ComponentSpec

PROJECT = "medfusion"

__all__ = ["PROJECT", "hookimpl", "hookspec", "medfusion_register_trackers"]

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def medfusion_register_backbones() -> list[ComponentSpec] | None:
    """Register image backbones.

    Factory signature: ``factory(name, *, in_chans, pretrained=None, **params) -> nn.Module``.
    The module maps images ``[B, C, H, W]`` (or ``[B, C, D, H, W]`` for ``extra={"dims": 3}``) to
    features ``[B, D]`` and exposes ``out_features: int``. ``pretrained`` is a path to a local
    weights file or ``None``; it never triggers a download. A module that supports gradient
    checkpointing exposes ``set_grad_checkpointing(enable: bool)``.
    A spec name ending in ``*`` registers a family (``resnet*``); ``name`` passed to the factory
    is then the concrete name from the config.
    """


@hookspec
def medfusion_register_fusions() -> list[ComponentSpec] | None:
    """Register fusion strategies.

    Factory signature: ``factory(in_features: dict[str, int], **params) -> nn.Module``.
    ``forward(features: dict[str, Tensor[B, D_m]], mask: Tensor[B, M] bool)`` returns
    ``[B, out_features]``; ``mask[:, i]`` is True where modality ``i`` (in the order of
    ``in_features``) is present. A masked modality must have no influence on the output.
    """


@hookspec
def medfusion_register_aggregators() -> list[ComponentSpec] | None:
    """Register multi-view aggregators.

    Factory signature: ``factory(in_features: int, **params) -> nn.Module``.
    ``forward(views: Tensor[B, V, D], mask: Tensor[B, V] bool)`` returns ``[B, out_features]``;
    padded views (mask False) must have no influence. Modules with per-view weights store the
    last ones in ``view_weights: Tensor[B, V]``.
    """


@hookspec
def medfusion_register_attention() -> list[ComponentSpec] | None:
    """Register attention modules applied to backbone feature maps.

    Factory signature: ``factory(channels: int, **params) -> nn.Module`` mapping
    ``[B, C, H, W]`` to the same shape.
    """


@hookspec
def medfusion_register_losses() -> list[ComponentSpec] | None:
    """Register auxiliary losses (e.g. attention supervision).

    Factory signature: ``factory(**params) -> nn.Module`` whose ``forward`` takes keyword
    tensors it documents (``attention``, ``masks``, ...) and returns a scalar loss.
    """


@hookspec
def medfusion_register_trainers() -> list[ComponentSpec] | None:
    """Register trainers.

    Factory signature: ``factory(**params)`` returning an object with
    ``fit(experiment, run_dir, *, resume=False)`` that trains, writes checkpoints and metrics
    under ``run_dir`` and returns the run's summary dict.
    """


@hookspec
def medfusion_register_exporters() -> list[ComponentSpec] | None:
    """Register exporters.

    Factory signature: ``factory(**params)`` returning an object with
    ``export(run_dir, out_path) -> Path`` that writes a standalone artifact and verifies it.
    ``extra={"formats": [...]}`` lists the ``--format`` values it serves.
    """


@hookspec
def medfusion_register_kernels() -> list[ComponentSpec] | None:
    """Register accelerated implementations of named core kernels.

    ``name`` is the core kernel's name (see :mod:`medfusion_core.kernels`); the factory is the
    accelerated callable with the same signature and results as the numpy reference.
    """


@hookspec
def medfusion_register_readers() -> list[ComponentSpec] | None:
    """Register image readers.

    ``extra={"extensions": [".png", ...]}`` lists the file suffixes served. The factory is
    ``read(path: Path) -> numpy.ndarray`` returning ``[H, W]``, ``[H, W, C]`` or ``[D, H, W]``.
    """


@hookspec
def medfusion_register_commands() -> list[ComponentSpec] | None:
    """Register extra ``medfusion`` subcommands.

    The factory is a :class:`click.Command`; it is imported only when the command is invoked
    or its help is shown.
    """
