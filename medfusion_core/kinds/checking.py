"""The generic core of the conformance checks: what every ``nn.Module`` kind is checked for.

Finite output, gradients to every parameter and checked input, a state-dict round trip,
determinism under a seed and ``torch.export``; plus the helpers the kinds' own checks
(``kinds/<kind>.py``) use. Imports torch: only the checks import it, when they run. The public
entry point for plugin authors is :mod:`medfusion_core.testing.conformance`.
"""

from __future__ import annotations

import fnmatch
import io
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import torch
from torch import nn

from medfusion_core.kinds.base import Info, single_threaded

#: Largest absolute (and relative) difference tolerated where outputs must not change.
MASK_TOLERANCE = 1e-6
#: Tolerance between eager mode and an exported program.
EXPORT_ATOL = 1e-5
EXPORT_RTOL = 1e-4

Inputs = tuple[tuple[Any, ...], dict[str, Any]]


@attrs.frozen
class Target:
    """A component to check: a label for messages, a builder, whether it claims exportability and
    its spec's metadata (``None`` for a bare factory)."""

    label: str
    build: Callable[..., nn.Module]
    exportable: bool
    info: Info | None = None

    def check(
        self, build: Callable[[], nn.Module], make_inputs: Callable[[], Inputs], **options: Any
    ) -> nn.Module:
        """:func:`check_module` under this target's label and exportability."""
        return check_module(self.label, build, make_inputs, exportable=self.exportable, **options)


# -- generic core -----------------------------------------------------------------------------


def _seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = build()
    assert isinstance(module, nn.Module), f"factory returned {type(module).__name__}, not an nn.Module"
    return module


def run(module: nn.Module, inputs: Inputs) -> Any:
    args, kwargs = inputs
    return module(*args, **kwargs)


def _flat(output: Any) -> list[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, Mapping):
        return [t for key in sorted(output) for t in _flat(output[key])]
    if isinstance(output, (list, tuple)):
        return [t for item in output for t in _flat(item)]
    return []


def assert_same(
    label: str,
    what: str,
    first: Any,
    second: Any,
    *,
    atol: float = MASK_TOLERANCE,
    rtol: float = MASK_TOLERANCE,
) -> None:
    """Assert two (nested) outputs have the same shapes and values within tolerance (by default
    :data:`MASK_TOLERANCE`: equal up to float rounding)."""
    a, b = _flat(first), _flat(second)
    assert len(a) == len(b), f"{label}: {what}: {len(a)} vs {len(b)} output tensors"
    for x, y in zip(a, b, strict=True):
        assert x.shape == y.shape, f"{label}: {what}: shape {tuple(x.shape)} vs {tuple(y.shape)}"
        if not torch.allclose(x.float(), y.float(), atol=atol, rtol=rtol, equal_nan=True):
            diff = (x.float() - y.float()).abs().nan_to_num(float("inf")).max().item()
            raise AssertionError(f"{label}: {what}: outputs differ (max abs difference {diff:.3g})")


def scrambled(values: torch.Tensor, noise: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """``values`` with the rows selected by ``where`` replaced by large, shifted noise: what a module
    must ignore where the mask says an input is absent."""
    out = values.clone()
    out[where] = noise[where] * 10.0 + 3.0
    return out


def _check_gradients(
    label: str,
    module: nn.Module,
    make_inputs: Callable[[], Inputs],
    grad_inputs: Callable[[Inputs], Iterable[tuple[str, torch.Tensor]]],
    allow_no_grad: Iterable[str],
) -> None:
    module.train()
    inputs = make_inputs()
    checked = list(grad_inputs(inputs))
    for _, tensor in checked:
        tensor.requires_grad_(True)
    outputs = _flat(run(module, inputs))
    generator = torch.Generator().manual_seed(1234)
    loss = sum((out.float() * torch.randn(out.shape, generator=generator)).sum() for out in outputs)
    assert isinstance(loss, torch.Tensor) and loss.requires_grad, f"{label}: output does not require grad"
    loss.backward()
    exempt = list(allow_no_grad)
    any_nonzero = False
    for name, param in module.named_parameters():
        if not param.requires_grad or any(fnmatch.fnmatchcase(name, pat) for pat in exempt):
            continue
        assert param.grad is not None, f"{label}: parameter {name!r} receives no gradient"
        assert torch.isfinite(param.grad).all(), f"{label}: parameter {name!r} has a non-finite gradient"
        any_nonzero = any_nonzero or bool(param.grad.abs().sum() > 0)
    has_params = any(p.requires_grad for p in module.parameters())
    assert any_nonzero or not has_params, f"{label}: every parameter gradient is zero"
    for name, tensor in checked:
        assert tensor.grad is not None and bool(tensor.grad.abs().sum() > 0), (
            f"{label}: input {name} receives no gradient (is it used?)"
        )
    module.zero_grad(set_to_none=True)
    module.eval()


def _check_state_dict(
    label: str, first: nn.Module, build: Callable[[], nn.Module], inputs: Inputs, seed: int
) -> None:
    second = _seeded(build, seed + 1).eval()
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    try:
        state = torch.load(buffer, weights_only=True)
    except Exception as exc:
        raise AssertionError(f"{label}: state_dict does not load with weights_only=True ({exc})") from exc
    second.load_state_dict(state)
    with torch.no_grad():
        assert_same(
            label,
            "state_dict round trip",
            run(first, inputs),
            run(second, inputs),
        )


def _check_export(label: str, module: nn.Module, inputs: Inputs) -> None:
    args, kwargs = inputs
    module.eval()
    try:
        with warnings.catch_warnings():
            # Contract attributes (view_weights, attention_map) are plain tensor attributes.
            warnings.filterwarnings("ignore", message="The tensor attribute", category=UserWarning)
            program = torch.export.export(module, args, kwargs, strict=False)
    except Exception as exc:
        first_line = (str(exc).splitlines() or [""])[0]
        raise AssertionError(
            f"{label}: torch.export failed ({type(exc).__name__}: {first_line}); "
            "fix it or declare info=...(exportable=False) in the spec"
        ) from exc
    with torch.no_grad():
        exported = program.module()(*args, **kwargs)
        assert_same(
            label,
            "exported program vs eager",
            run(module, inputs),
            exported,
            atol=EXPORT_ATOL,
            rtol=EXPORT_RTOL,
        )


def _describe(inputs: Inputs) -> str:
    """Shapes of the tensors in ``inputs``, for messages."""
    args, kwargs = inputs
    return str([tuple(t.shape) for t in _flat([list(args), kwargs])])


@single_threaded
def check_module(
    label: str,
    build: Callable[[], nn.Module],
    make_inputs: Callable[[], Inputs],
    *,
    grad_inputs: Callable[[Inputs], Iterable[tuple[str, torch.Tensor]]] = lambda _inputs: (),
    exportable: bool = True,
    allow_no_grad: Iterable[str] = (),
    seed: int = 0,
) -> nn.Module:
    """Checks every kind shares: finite output, gradients, state dict, determinism, export.

    ``build()`` makes a fresh module; ``make_inputs()`` returns fresh ``(args, kwargs)``
    (deterministic); ``grad_inputs(inputs)`` names the input tensors that must receive a gradient.
    Returns the module built under ``seed``, in eval mode.
    """
    module = _seeded(build, seed).eval()
    inputs = make_inputs()
    with torch.no_grad():
        try:
            output = run(module, inputs)
        except Exception as exc:
            raise AssertionError(
                f"{label}: forward failed on inputs {_describe(inputs)} ({type(exc).__name__}: {exc}); "
                "if the component needs other inputs or sizes, pass them to the check (inputs=, "
                "input_size=, size=, params=) or declare them in the spec's info"
            ) from exc
    for tensor in _flat(output):
        assert torch.isfinite(tensor).all(), f"{label}: non-finite output"
    twin = _seeded(build, seed).eval()
    with torch.no_grad():
        assert_same(
            label,
            "two builds under the same seed",
            output,
            run(twin, inputs),
        )
    _check_state_dict(label, module, build, inputs, seed)
    _check_gradients(label, module, make_inputs, grad_inputs, allow_no_grad)
    if exportable:
        _check_export(label, module, make_inputs())
    return module


def randn(generator: torch.Generator, *shape: int, scale: float = 1.0, shift: float = 0.0) -> torch.Tensor:
    return torch.randn(*shape, generator=generator) * scale + shift


def out_features(label: str, module: nn.Module) -> int:
    width = getattr(module, "out_features", None)
    assert isinstance(width, int) and width > 0, f"{label}: out_features must be an int > 0, not {width!r}"
    return width


def assert_shape(label: str, what: str, tensor: Any, shape: tuple[int, ...]) -> None:
    assert isinstance(tensor, torch.Tensor), f"{label}: {what} is {type(tensor).__name__}, not a Tensor"
    assert tuple(tensor.shape) == shape, f"{label}: {what} has shape {tuple(tensor.shape)}, expected {shape}"
