"""Structured pruning that removes channels from the network, and the fine-tuning after it.

A *chain* is a channel dimension private to a producer layer and the one consumer layer that
reads it: the producer's output channels (``Conv*d`` filters or ``Linear`` rows), an optional
batch norm over them, only parameter- and buffer-free element-wise modules (activations,
dropout, DropBlock, identity), then the consumer's input channels. Removing channel ``j`` there
deletes the producer's filter ``j``, the norm's entry ``j`` and the consumer's input slice ``j``;
nothing else in the model sees that dimension, so residual streams, the backbone's output width
(and with it the attention, aggregator, fusion and head widths) stay as they are.

Chains are found by the layouts of the first-party backbones (no name matching of whole models):

- residual blocks with ``conv1 -> bn1 -> conv2`` (and ``conv2 -> bn2 -> conv3`` in bottlenecks):
  timm ResNets and the 3D ResNets of the cnn plugin;
- MLP blocks with ``fc1 -> fc2`` (timm ``Mlp``/``ConvMlp``): ViT, Swin and ConvNeXt blocks;
- consecutive layers inside an ``nn.Sequential`` (deep stems, the clinical MLP, the head).

A layer in between that holds parameters or buffers (a blur pool, a layer norm over the hidden
units, a global response norm) or a grouped convolution on either side breaks the chain: its
channels are coupled to more than the two layers, so the chain is left whole.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs

from medfusion_core.errors import ExportError
from medfusion_core.model import MODEL_INPUTS

if TYPE_CHECKING:
    import torch
    from medfusion_plugin_export.run_loading import RunVariant
    from torch import nn

#: ``(producer, norm, consumer, in-between modules)`` attribute names of the block layouts.
BLOCK_LAYOUTS: tuple[tuple[str, str | None, str, tuple[str, ...]], ...] = (
    ("conv1", "bn1", "conv2", ("drop_block", "act1", "act", "aa")),
    ("conv2", "bn2", "conv3", ("drop_block", "act2", "act", "aa")),
    ("fc1", None, "fc2", ("act", "drop1", "drop", "norm")),
)


@attrs.frozen
class Chain:
    """A channel dimension private to ``producer`` (outputs), ``norm`` and ``consumer`` (inputs)."""

    name: str
    producer: Any
    norm: Any
    consumer: Any

    @property
    def channels(self) -> int:
        """The width of the dimension."""
        return int(self.producer.weight.shape[0])


def _layer_family(module: nn.Module) -> str | None:
    """``linear``, ``conv1d``/``conv2d``/``conv3d`` for an ungrouped layer; None otherwise."""
    from torch import nn

    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) and module.groups == 1:
        return type(module).__name__.lower()
    return None


def _is_norm(module: nn.Module | None) -> bool:
    """A batch norm with running statistics (its entries are per channel)."""
    from torch import nn

    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    return isinstance(module, norms) and module.track_running_stats


def _element_wise(module: nn.Module | None) -> bool:
    """A module that holds no parameters and no buffers (activation, dropout, identity)."""
    if module is None:
        return True
    return next(module.parameters(), None) is None and next(module.buffers(), None) is None


def _chain(name: str, producer: Any, norm: Any, consumer: Any) -> Chain | None:
    """The chain when the layers fit together (same layer family, matching widths), else None."""
    family = _layer_family(producer)
    if family is None or family != _layer_family(consumer):
        return None
    width = producer.weight.shape[0]
    if consumer.weight.shape[1] != width or (norm is not None and norm.num_features != width):
        return None
    return Chain(name, producer, norm, consumer) if width > 1 else None


def _block_chains(prefix: str, module: nn.Module) -> Iterator[Chain]:
    for producer, norm, consumer, between in BLOCK_LAYOUTS:
        layers = [getattr(module, attr, None) for attr in (producer, consumer)]
        norm_layer = getattr(module, norm, None) if norm else None
        if any(layer is None for layer in layers) or (norm and not _is_norm(norm_layer)):
            continue
        if all(_element_wise(getattr(module, attr, None)) for attr in between):
            found = _chain(f"{prefix}{producer}", layers[0], norm_layer, layers[1])
            if found is not None:
                yield found


def _sequential_chains(prefix: str, module: nn.Sequential) -> Iterator[Chain]:
    items = list(module.named_children())
    for index, (name, producer) in enumerate(items):
        if _layer_family(producer) is None:
            continue
        rest = [layer for _, layer in items[index + 1 :]]
        norm = rest.pop(0) if rest and _is_norm(rest[0]) else None
        while rest and _element_wise(rest[0]):
            rest.pop(0)
        if rest:
            found = _chain(f"{prefix}{name}", producer, norm, rest[0])
            if found is not None:
                yield found


def find_chains(model: nn.Module) -> list[Chain]:
    """Every prunable chain of ``model``, each producer once, in module order."""
    from torch import nn

    chains: dict[int, Chain] = {}
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        sequential = isinstance(module, nn.Sequential)
        found = _sequential_chains(prefix, module) if sequential else _block_chains(prefix, module)
        for chain in found:
            chains.setdefault(id(chain.producer), chain)
    return list(chains.values())


def _select(module: Any, attribute: str, keep: torch.Tensor, dim: int) -> None:
    """Keep the ``keep`` entries of ``module.<attribute>`` along ``dim`` (parameter or buffer)."""
    from torch import nn

    tensor = getattr(module, attribute, None)
    if tensor is None:
        return
    kept = tensor.detach().index_select(dim, keep).clone()
    if isinstance(tensor, nn.Parameter):
        setattr(module, attribute, nn.Parameter(kept, requires_grad=tensor.requires_grad))
    else:
        setattr(module, attribute, kept)


def remove_channels(chain: Chain, keep: torch.Tensor) -> None:
    """Shrink the chain's dimension to the channels ``keep`` (sorted indices), in place."""
    from torch import nn

    _select(chain.producer, "weight", keep, 0)
    _select(chain.producer, "bias", keep, 0)
    _select(chain.consumer, "weight", keep, 1)
    width = len(keep)
    if isinstance(chain.producer, nn.Linear):
        chain.producer.out_features, chain.consumer.in_features = width, width
    else:
        chain.producer.out_channels, chain.consumer.in_channels = width, width
    if chain.norm is not None:
        for attribute in ("weight", "bias", "running_mean", "running_var"):
            _select(chain.norm, attribute, keep, 0)
        chain.norm.num_features = width


def kept_channels(channels: int, amount: float, multiple: int = 1) -> int:
    """How many of ``channels`` stay when ``amount`` of them go: rounded to the nearest multiple of
    ``multiple`` when at least that many stay (CPU and GPU convolution kernels run aligned widths
    faster), at least one, at most ``channels``."""
    kept = max(1, round(channels * (1.0 - amount)))
    if multiple > 1 and kept >= multiple:
        kept = max(multiple, multiple * round(kept / multiple))
    return min(kept, channels)


def l1_keep(chain: Chain, amount: float, multiple: int = 1) -> torch.Tensor:
    """Indices (ascending) of the channels with the largest L1 filter norms that stay."""
    import torch

    norms = chain.producer.weight.detach().flatten(1).abs().sum(dim=1)
    kept = kept_channels(chain.channels, amount, multiple)
    return torch.sort(torch.topk(norms, kept).indices).values


@attrs.frozen
class PruningResult:
    """What :func:`prune_channels` removed."""

    chains: int
    removed: int
    total: int
    parameters_before: int
    parameters_after: int


def _parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def prune_channels(model: nn.Module, amount: float, multiple: int = 8) -> tuple[nn.Module, PruningResult]:
    """A copy of ``model`` with ``amount`` of every chain's channels removed (lowest L1 norm of the
    producer's filters first; the kept widths rounded to multiples of ``multiple``, see
    :func:`kept_channels`); the copy and what was removed."""
    if not 0.0 < amount < 1.0:
        raise ExportError(f"pruned: 'amount' must be in (0, 1), got {amount!r}")
    pruned = copy.deepcopy(model)
    chains = find_chains(pruned)
    if not chains:
        raise ExportError(
            "pruned: the model has no prunable channel chain (supported: ResNet blocks, MLP blocks of "
            "ViT/Swin/ConvNeXt, sequential layers); use the onnx-int8 format"
        )
    before = _parameters(pruned)
    total = sum(chain.channels for chain in chains)
    for chain in chains:
        remove_channels(chain, l1_keep(chain, amount, multiple))
    removed = total - sum(chain.channels for chain in chains)
    return pruned, PruningResult(len(chains), removed, total, before, _parameters(pruned))


def fine_tune(model: nn.Module, run: RunVariant, *, epochs: int, lr: float) -> None:
    """Train ``model`` on the run's training split for ``epochs`` epochs (AdamW at ``lr``)."""
    import torch
    from torch.nn import functional

    torch.manual_seed(run.config.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr)
    loader = run.data.loader("train", train=True, backend="threads", workers=1, cache=False)
    binary = run.preprocessing["task"] == "binary"
    model.train()
    for epoch in range(epochs):
        for batch in loader.iter_batches(epoch):
            logits = model(*(batch[key] for key in MODEL_INPUTS))
            labels: Any = batch["label"]
            if binary:
                loss = functional.binary_cross_entropy_with_logits(logits[:, 0], labels.float())
            else:
                loss = functional.cross_entropy(logits, labels.long())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
