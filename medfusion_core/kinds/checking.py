"""Conformance kit: pytest-ready checks that a component honours its kind's contract.

Every check builds the component twice or more (through the registry by name, or from a factory
you pass), runs it on tiny random inputs (batch of 3 or 4, a few features) and raises
:class:`AssertionError` with a message naming the component and the broken rule. Checks run on
CPU in well under a second for small modules.

API (``target`` is a registry name such as ``"gated"`` / ``"plugin:gated"``, or a factory)::

    component_names(kind, source=None) -> list[str]
    check_fusion(target, *, in_features=None, params=None, exportable=None, seed=0)
    check_aggregator(target, *, in_features=10, params=None, exportable=None, seed=0)
    check_attention(target, *, channels=8, size=(6, 6), params=None, exportable=None, seed=0)
    check_backbone(target, *, in_chans=1, input_size=None, dims=None, params=None,
                   exportable=None, allow_no_grad=(), seed=0)
    check_loss(target, *, inputs=None, grad_input="attention", params=None, exportable=None, seed=0)
    check_module(label, build, make_inputs, *, grad_inputs=..., exportable=True,
                 allow_no_grad=(), seed=0)            # the generic core used by all of the above
    assert_same(label, what, first, second, *, atol, rtol)
    single_thread()                                   # context manager: one torch thread inside

Every ``check_*`` returns the module it built (eval mode) for further, component-specific tests,
and runs with one intra-op torch thread (restored afterwards): the inputs are tiny.
A factory target is called like the registry would: ``factory(in_features, **params)`` for
fusions and aggregators, ``factory(channels, **params)`` for attention,
``factory(in_chans=..., pretrained=None, **params)`` for backbones, ``factory(**params)`` for
losses. ``check_loss`` defaults to ``forward(attention=[3, 1, 8, 8] in [0, 1],
masks=binary [3, 1, 8, 8])``; pass ``inputs={...}`` for other keywords. A component that needs
other sizes (a ViT with a fixed ``img_size``) takes ``input_size=``/``size=`` or ``params=``.

What is checked:

- shapes: ``[B, out_features]`` for fusions, aggregators and backbones; same shape for attention
  (plus ``attention_map`` ``[B, 1, H, W]`` when exposed); a scalar for losses;
- masks (fusions, aggregators): replacing the features of a masked modality / padded view with
  other values changes no output by more than 1e-6, and a row with everything masked is finite;
  aggregators that expose ``view_weights`` give ``[B, V]`` with zero weight on padded views;
- gradients: with everything present, every trainable parameter receives a finite gradient
  (names matching a glob in ``allow_no_grad`` are exempt), and so do the checked inputs;
- state dict: a second build with another seed that loads the first one's ``state_dict`` (saved and
  reloaded with ``torch.load(weights_only=True)``) gives the same output;
- determinism: two builds under the same torch seed give the same output;
- export: ``torch.export.export(module, args, strict=False)`` succeeds and the exported program
  matches eager mode, unless the spec says ``extra={"exportable": False}`` (or you pass
  ``exportable=False``).

Parametrize over a plugin's components at collection time (no host needed, nothing imported)::

    import medfusion_plugin_x.hooks as hooks
    from medfusion_core.testing import conformance

    @pytest.mark.parametrize("name", conformance.component_names("fusion", hooks))
    def test_fusion_conforms(medfusion_host, name):
        medfusion_host.register(hooks, "medfusion-plugin-x")
        conformance.check_fusion(name)

Families (``resnet*``) are listed through the concrete names in their spec's
``extra["examples"]``; a backbone spec may give ``extra["input_size"]`` (e.g. ``[32, 32]``) and
``extra["dims"]`` (2 or 3).
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import io
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import attrs
import torch
from torch import nn

from medfusion_core import kinds
from medfusion_core.registry import get_registry
from medfusion_core.specs import ComponentSpec

#: Largest absolute (and relative) difference tolerated where outputs must not change.
MASK_TOLERANCE = 1e-6
#: Tolerance between eager mode and an exported program.
EXPORT_ATOL = 1e-5
EXPORT_RTOL = 1e-4

Inputs = tuple[tuple[Any, ...], dict[str, Any]]
T = TypeVar("T")


@attrs.frozen
class _Target:
    """A component to check: a label for messages, a builder and whether it claims exportability."""

    label: str
    build: Callable[..., nn.Module]
    exportable: bool


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run the block with one intra-op torch thread (restored afterwards): for tiny tensors,
    several threads on a shared or small machine only add contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _single_threaded(check: Callable[..., T]) -> Callable[..., T]:
    """Decorator: run ``check`` inside :func:`single_thread`."""

    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> T:
        with single_thread():
            return check(*args, **kwargs)

    return run


def component_names(kind: str, source: object | None = None) -> list[str]:
    """Names of every component of ``kind``, sorted, with families replaced by their examples.

    ``source`` is a plugin module (its hook is called directly: usable at pytest collection
    time, imports nothing heavy) or ``None`` for the current registry.
    """
    if source is None:
        specs = get_registry().specs(kind)
    else:
        hook = getattr(source, kinds.get(kind).hook, None)
        specs = list(hook() or []) if hook is not None else []
    names: list[str] = []
    for spec in specs:
        names.extend(_concrete_names(spec))
    return sorted(set(names))


def _concrete_names(spec: ComponentSpec) -> list[str]:
    if spec.is_pattern:
        return [str(name) for name in spec.extra.get("examples", [])]
    return [spec.name]


def _target(kind: str, target: str | Callable[..., nn.Module], exportable: bool | None) -> _Target:
    """Resolve a registry name or a factory into a :class:`_Target`."""
    if isinstance(target, str):
        registry = get_registry()
        spec = registry.resolve(kind, target)
        claimed = bool(spec.extra.get("exportable", True))

        def build(*args: Any, **params: Any) -> nn.Module:
            return registry.create(kind, target, *args, **params)

        return _Target(f"{kind} {target!r}", build, claimed if exportable is None else exportable)
    label = getattr(target, "__qualname__", repr(target))
    return _Target(f"{kind} {label}", target, True if exportable is None else exportable)


def _spec_extra(kind: str, target: str | Callable[..., nn.Module]) -> dict[str, Any]:
    if isinstance(target, str):
        return dict(get_registry().resolve(kind, target).extra)
    return {}


# -- generic core -----------------------------------------------------------------------------


def _seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = build()
    assert isinstance(module, nn.Module), f"factory returned {type(module).__name__}, not an nn.Module"
    return module


def _run(module: nn.Module, inputs: Inputs) -> Any:
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


def _scrambled(values: torch.Tensor, noise: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
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
    outputs = _flat(_run(module, inputs))
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
            _run(first, inputs),
            _run(second, inputs),
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
            "fix it or declare extra={'exportable': False} in the spec"
        ) from exc
    with torch.no_grad():
        exported = program.module()(*args, **kwargs)
        assert_same(
            label,
            "exported program vs eager",
            _run(module, inputs),
            exported,
            atol=EXPORT_ATOL,
            rtol=EXPORT_RTOL,
        )


def _describe(inputs: Inputs) -> str:
    """Shapes of the tensors in ``inputs``, for messages."""
    args, kwargs = inputs
    return str([tuple(t.shape) for t in _flat([list(args), kwargs])])


@_single_threaded
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
            output = _run(module, inputs)
        except Exception as exc:
            raise AssertionError(
                f"{label}: forward failed on inputs {_describe(inputs)} ({type(exc).__name__}: {exc}); "
                "if the component needs other inputs or sizes, pass them to the check (inputs=, "
                "input_size=, size=, params=) or declare them in the spec's extra"
            ) from exc
    for tensor in _flat(output):
        assert torch.isfinite(tensor).all(), f"{label}: non-finite output"
    twin = _seeded(build, seed).eval()
    with torch.no_grad():
        assert_same(
            label,
            "two builds under the same seed",
            output,
            _run(twin, inputs),
        )
    _check_state_dict(label, module, build, inputs, seed)
    _check_gradients(label, module, make_inputs, grad_inputs, allow_no_grad)
    if exportable:
        _check_export(label, module, make_inputs())
    return module


def _randn(generator: torch.Generator, *shape: int, scale: float = 1.0, shift: float = 0.0) -> torch.Tensor:
    return torch.randn(*shape, generator=generator) * scale + shift


def _out_features(label: str, module: nn.Module) -> int:
    width = getattr(module, "out_features", None)
    assert isinstance(width, int) and width > 0, f"{label}: out_features must be an int > 0, not {width!r}"
    return width


def _assert_shape(label: str, what: str, tensor: Any, shape: tuple[int, ...]) -> None:
    assert isinstance(tensor, torch.Tensor), f"{label}: {what} is {type(tensor).__name__}, not a Tensor"
    assert tuple(tensor.shape) == shape, f"{label}: {what} has shape {tuple(tensor.shape)}, expected {shape}"


# -- fusion -----------------------------------------------------------------------------------


def _fusion_mask(modalities: int) -> torch.Tensor:
    """Rows: modality i missing (one row each), everything present, everything missing."""
    rows = [[j != i for j in range(modalities)] for i in range(modalities)]
    rows += [[True] * modalities, [False] * modalities]
    return torch.tensor(rows, dtype=torch.bool)


@_single_threaded
def check_fusion(
    target: str | Callable[..., nn.Module],
    *,
    in_features: Mapping[str, int] | None = None,
    params: Mapping[str, Any] | None = None,
    exportable: bool | None = None,
    seed: int = 0,
) -> nn.Module:
    """Check a fusion: ``factory(in_features, **params)``, ``forward(features, mask) -> [B, D]``.

    Default modalities are ``{"image": 12, "clinical": 7}``. Returns the built module.
    """
    spec = _target("fusion", target, exportable)
    widths = dict(in_features or {"image": 12, "clinical": 7})
    names = list(widths)
    mask = _fusion_mask(len(names))
    batch = mask.shape[0]

    def build() -> nn.Module:
        return spec.build(dict(widths), **dict(params or {}))

    def features(offset: int) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(seed + offset)
        return {name: _randn(generator, batch, width) for name, width in widths.items()}

    def make_inputs() -> Inputs:
        return (features(0), mask.clone()), {}

    def full_inputs() -> Inputs:
        return (features(0), torch.ones_like(mask)), {}

    module = check_module(
        spec.label,
        build,
        full_inputs,
        exportable=spec.exportable,
        seed=seed,
        grad_inputs=lambda inputs: [(f"features[{name!r}]", inputs[0][0][name]) for name in names],
    )
    width = _out_features(spec.label, module)
    with torch.no_grad():
        reference = module(*make_inputs()[0])
        _assert_shape(spec.label, "output", reference, (batch, width))
        assert torch.isfinite(reference).all(), f"{spec.label}: non-finite output with masked modalities"
        noise = features(1)
        for index, name in enumerate(names):
            perturbed = features(0)
            absent = ~mask[:, index]
            perturbed[name] = _scrambled(perturbed[name], noise[name], absent)
            assert_same(
                spec.label,
                f"masked modality {name!r} changed",
                reference,
                module(perturbed, mask),
            )
    return module


# -- aggregator -------------------------------------------------------------------------------


#: Views present per row in the aggregator check (V = 4): all, two, one, none.
_VIEW_COUNTS = (4, 2, 1, 0)


@_single_threaded
def check_aggregator(
    target: str | Callable[..., nn.Module],
    *,
    in_features: int = 10,
    params: Mapping[str, Any] | None = None,
    exportable: bool | None = None,
    seed: int = 0,
) -> nn.Module:
    """Check an aggregator: ``factory(in_features, **params)``, ``forward(views, mask) -> [B, D]``."""
    spec = _target("aggregator", target, exportable)
    views_n = max(_VIEW_COUNTS)
    mask = torch.tensor([[v < count for v in range(views_n)] for count in _VIEW_COUNTS], dtype=torch.bool)
    batch = mask.shape[0]

    def build() -> nn.Module:
        return spec.build(in_features, **dict(params or {}))

    def views(offset: int) -> torch.Tensor:
        return _randn(torch.Generator().manual_seed(seed + offset), batch, views_n, in_features)

    def full_inputs() -> Inputs:
        return (views(0), torch.ones_like(mask)), {}

    module = check_module(
        spec.label,
        build,
        full_inputs,
        exportable=spec.exportable,
        seed=seed,
        grad_inputs=lambda inputs: [("views", inputs[0][0])],
    )
    width = _out_features(spec.label, module)
    with torch.no_grad():
        reference = module(views(0), mask)
        _assert_shape(spec.label, "output", reference, (batch, width))
        assert torch.isfinite(reference).all(), f"{spec.label}: non-finite output (a row has no views)"
        weights = getattr(module, "view_weights", None)
        if weights is not None:
            _assert_shape(spec.label, "view_weights", weights, (batch, views_n))
            leaked = weights[~mask].abs().max().item() if (~mask).any() else 0.0
            assert leaked <= MASK_TOLERANCE, f"{spec.label}: padded views get weight {leaked:.3g}"
        perturbed = views(0)
        perturbed = _scrambled(perturbed, views(1), ~mask)
        assert_same(
            spec.label,
            "padded views changed",
            reference,
            module(perturbed, mask),
        )
    return module


# -- attention --------------------------------------------------------------------------------


@_single_threaded
def check_attention(
    target: str | Callable[..., nn.Module],
    *,
    channels: int = 8,
    size: tuple[int, int] = (6, 6),
    params: Mapping[str, Any] | None = None,
    exportable: bool | None = None,
    seed: int = 0,
) -> nn.Module:
    """Check an attention module: ``factory(channels, **params)``, ``[B, C, H, W]`` -> same shape;
    an ``attention_map`` attribute, when set after forward, is ``[B, 1, H, W]``."""
    spec = _target("attention", target, exportable)
    shape = (3, channels, *size)

    def build() -> nn.Module:
        return spec.build(channels, **dict(params or {}))

    def make_inputs() -> Inputs:
        return (_randn(torch.Generator().manual_seed(seed), *shape),), {}

    module = check_module(
        spec.label,
        build,
        make_inputs,
        exportable=spec.exportable,
        seed=seed,
        grad_inputs=lambda inputs: [("x", inputs[0][0])],
    )
    with torch.no_grad():
        _assert_shape(spec.label, "output", module(*make_inputs()[0]), shape)
        attention_map = getattr(module, "attention_map", None)
        if attention_map is not None:
            _assert_shape(spec.label, "attention_map", attention_map, (shape[0], 1, *size))
    return module


# -- backbone ---------------------------------------------------------------------------------


@_single_threaded
def check_backbone(
    target: str | Callable[..., nn.Module],
    *,
    in_chans: int = 1,
    input_size: tuple[int, ...] | None = None,
    dims: int | None = None,
    params: Mapping[str, Any] | None = None,
    exportable: bool | None = None,
    allow_no_grad: Iterable[str] = (),
    seed: int = 0,
) -> nn.Module:
    """Check a backbone: ``out_features``, ``feature_channels``, ``forward_features(x)`` ->
    ``[B, C, h, w]`` (3D: ``[B, C, d, h, w]``), ``pool(map)`` -> ``[B, out_features]``,
    ``forward == pool(forward_features)``, and ``set_grad_checkpointing`` when present.

    A factory target is called as ``factory(in_chans=..., pretrained=None, **params)``.
    """
    spec = _target("backbone", target, exportable)
    extra = _spec_extra("backbone", target)
    dims = int(dims or extra.get("dims", 2))
    size = tuple(input_size or extra.get("input_size") or ((16,) * 3 if dims == 3 else (32, 32)))
    assert len(size) == dims, f"{spec.label}: input_size {size} does not match dims={dims}"
    shape = (3, in_chans, *size)

    def build() -> nn.Module:
        return spec.build(in_chans=in_chans, pretrained=None, **dict(params or {}))

    def make_inputs() -> Inputs:
        return (_randn(torch.Generator().manual_seed(seed), *shape),), {}

    module = check_module(
        spec.label,
        build,
        make_inputs,
        exportable=spec.exportable,
        seed=seed,
        allow_no_grad=allow_no_grad,
        grad_inputs=lambda inputs: [("images", inputs[0][0])],
    )
    width = _out_features(spec.label, module)
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
        _assert_shape(spec.label, "pool(feature map)", pooled, (3, width))
        assert_same(
            spec.label,
            "forward vs pool(forward_features)",
            module(x),
            pooled,
        )
    if hasattr(module, "set_grad_checkpointing"):
        _check_checkpointing(spec.label, module, x)
    return module


def _seeded_forward(module: nn.Module, x: torch.Tensor, seed: int) -> torch.Tensor:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return module(x)


def _check_checkpointing(label: str, module: nn.Module, x: torch.Tensor) -> None:
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
    assert_same(
        label,
        "gradient checkpointing changed the output",
        reference.detach(),
        with_ckpt.detach(),
        atol=1e-5,
        rtol=1e-4,
    )


# -- loss -------------------------------------------------------------------------------------


def _default_loss_inputs(seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        "attention": torch.rand(3, 1, 8, 8, generator=generator),
        "masks": (torch.rand(3, 1, 8, 8, generator=generator) > 0.5).float(),
    }


@_single_threaded
def check_loss(
    target: str | Callable[..., nn.Module],
    *,
    inputs: Mapping[str, torch.Tensor] | None = None,
    grad_input: str | None = "attention",
    params: Mapping[str, Any] | None = None,
    exportable: bool | None = None,
    seed: int = 0,
) -> nn.Module:
    """Check a loss: ``factory(**params)``, ``forward(**inputs)`` -> finite scalar.

    ``inputs`` defaults to attention supervision (``attention`` in [0, 1] and binary ``masks``,
    both ``[3, 1, 8, 8]``); ``grad_input`` names the keyword that must receive a gradient.
    """
    spec = _target("loss", target, exportable)
    given = dict(inputs) if inputs is not None else None

    def build() -> nn.Module:
        return spec.build(**dict(params or {}))

    def make_inputs() -> Inputs:
        source = given if given is not None else _default_loss_inputs(seed)
        return (), {key: value.detach().clone() for key, value in source.items()}

    module = check_module(
        spec.label,
        build,
        make_inputs,
        exportable=spec.exportable,
        seed=seed,
        grad_inputs=lambda ins: [(grad_input, ins[1][grad_input])] if grad_input else [],
    )
    with torch.no_grad():
        value = _run(module, make_inputs())
    _assert_shape(spec.label, "loss", value, ())
    return module
