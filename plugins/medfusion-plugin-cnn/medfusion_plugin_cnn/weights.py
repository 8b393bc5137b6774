"""Loading local pretrained weights into a backbone: never a download, always a clear error.

A weights file is a ``state_dict`` saved with ``torch.save`` (optionally nested under a
``"state_dict"`` or ``"model"`` key, optionally with every key prefixed by ``"model."`` as in a
MedFusion backbone's own ``state_dict``). Classifier weights are dropped and the first
convolution is adapted when the file was trained with another number of input channels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

from medfusion_core.errors import CheckpointError

StateDict = dict[str, torch.Tensor]

_NESTING_KEYS = ("state_dict", "model")
_WRAPPER_PREFIX = "model."


def adapt_input_channels(weight: torch.Tensor, in_chans: int) -> torch.Tensor:
    """Adapt a first-convolution weight ``[O, I, *kernel]`` (2D or 3D) to ``in_chans`` inputs.

    One input channel sums the pretrained channels (a grey image then gives what the pretrained
    model gives on the grey image replicated); more channels repeat the pretrained ones cyclically
    and rescale by ``I / in_chans`` so that activations keep their magnitude (timm's rule).
    """
    base_chans = weight.shape[1]
    if base_chans == in_chans:
        return weight
    work = weight.float()
    if in_chans == 1:
        adapted = work.sum(dim=1, keepdim=True)
    else:
        repeats = math.ceil(in_chans / base_chans)
        tiled = work.repeat(1, repeats, *([1] * (weight.ndim - 2)))
        adapted = tiled[:, :in_chans] * (base_chans / in_chans)
    return adapted.to(weight.dtype)


def read_state_dict(path: str | Path) -> StateDict:
    """Read a local weights file into a flat ``{key: tensor}`` dict (``weights_only`` loading).

    Raises :class:`CheckpointError` naming the file when it is missing, unreadable, or does not
    hold a state dict of tensors.
    """
    file = Path(path)
    if not file.is_file():
        raise CheckpointError(
            f"pretrained weights file {str(file)!r} does not exist; give the path of a local state_dict file"
        )
    try:
        loaded = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"pretrained weights file {str(file)!r} cannot be read ({type(exc).__name__}); "
            "save it with torch.save(model.state_dict(), path)"
        ) from exc
    for key in _NESTING_KEYS:
        if isinstance(loaded, Mapping) and isinstance(loaded.get(key), Mapping):
            loaded = loaded[key]
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise CheckpointError(
            f"pretrained weights file {str(file)!r} does not hold a state_dict of tensors; "
            "save it with torch.save(model.state_dict(), path)"
        )
    state = {str(k): v for k, v in loaded.items()}
    if state and all(k.startswith(_WRAPPER_PREFIX) for k in state):
        state = {k.removeprefix(_WRAPPER_PREFIX): v for k, v in state.items()}
    return state


def load_pretrained(
    model: nn.Module,
    path: str | Path,
    *,
    in_chans: int,
    first_conv: str | None,
    classifier_prefixes: Iterable[str] = (),
    filter_fn: Callable[[StateDict, nn.Module], StateDict] | None = None,
) -> None:
    """Load a local weights file into ``model`` (strictly, apart from the classifier).

    ``first_conv`` is the module path of the input convolution whose weight is adapted to
    ``in_chans``; keys under ``classifier_prefixes`` are dropped; ``filter_fn`` (a timm
    ``checkpoint_filter_fn``) may remap keys and resize position embeddings for another image
    or window size. Any mismatch raises :class:`CheckpointError` naming the file and keys.
    """
    state = read_state_dict(path)
    prefixes = tuple(f"{p}." for p in classifier_prefixes if p)
    state = {k: v for k, v in state.items() if not k.startswith(prefixes)}
    conv_key = f"{first_conv}.weight" if first_conv else None
    if conv_key and conv_key in state and state[conv_key].ndim >= 3:
        state[conv_key] = adapt_input_channels(state[conv_key], in_chans)
    if filter_fn is not None:
        try:
            state = filter_fn(state, model)
        except Exception as exc:
            raise CheckpointError(
                f"pretrained weights file {str(path)!r} does not fit {type(model).__name__} "
                f"({type(exc).__name__}: {exc})"
            ) from exc
    _check_compatible(model, state, path)
    model.load_state_dict(state, strict=True)


def _check_compatible(model: nn.Module, state: StateDict, path: str | Path) -> None:
    """Raise :class:`CheckpointError` when keys or shapes of ``state`` do not match ``model``."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    problems = [
        f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape))
        if keys
    ]
    if problems:
        raise CheckpointError(
            f"pretrained weights file {str(path)!r} does not match {type(model).__name__} "
            f"({'; '.join(problems)}); use weights saved from the same architecture"
        )
