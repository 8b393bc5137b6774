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
  matches eager mode, unless the spec's info says ``exportable=False`` (or you pass
  ``exportable=False``).

Parametrize over a plugin's components at collection time (no host needed, nothing imported)::

    import medfusion_plugin_x.hooks as hooks
    from medfusion_core.testing import conformance

    @pytest.mark.parametrize("name", conformance.component_names("fusion", hooks))
    def test_fusion_conforms(medfusion_host, name):
        medfusion_host.register(hooks, "medfusion-plugin-x")
        conformance.check_fusion(name)

Families (``resnet*``) are listed through the concrete names in their spec's ``info.examples``;
a backbone spec may give ``BackboneInfo(input_size=(32, 32), dims=2)``.

Each kind's own check lives with its contract (``medfusion_core.kinds.fusion.check_fusion``, ...)
and the shared core in :mod:`medfusion_core.kinds.checking`; this module resolves registry names
and factories into what they check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from medfusion_core import kinds
from medfusion_core.kinds.base import ModuleInfo, single_thread
from medfusion_core.kinds.checking import (
    EXPORT_ATOL,
    EXPORT_RTOL,
    MASK_TOLERANCE,
    Target,
    assert_same,
    check_module,
)
from medfusion_core.registry import get_registry
from medfusion_core.specs import ComponentSpec


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
        return list(spec.info.examples) if isinstance(spec.info, ModuleInfo) else []
    return [spec.name]


def _target(kind: str, target: str | Callable[..., Any], exportable: bool | None) -> Target:
    """Resolve a registry name or a factory into a :class:`~medfusion_core.kinds.checking.Target`."""
    if isinstance(target, str):
        registry = get_registry()
        spec = registry.resolve(kind, target)
        claimed = spec.info.exportable if isinstance(spec.info, ModuleInfo) else True

        def build(*args: Any, **params: Any) -> Any:
            return registry.create(kind, target, *args, **params)

        return Target(f"{kind} {target!r}", build, claimed if exportable is None else exportable, spec.info)
    label = getattr(target, "__qualname__", repr(target))
    return Target(f"{kind} {label}", target, True if exportable is None else exportable)


def _public_check(kind_name: str) -> Callable[..., Any]:
    """``check_<kind>(target, *, exportable=None, **options)``: the kind's check on a registry
    name (``"gated"``, ``"plugin:gated"``) or a factory."""
    kind_check = kinds.get(kind_name).check
    assert kind_check is not None

    def check(target: str | Callable[..., Any], *, exportable: bool | None = None, **options: Any) -> Any:
        return kind_check(_target(kind_name, target, exportable), **options)

    check.__name__ = check.__qualname__ = f"check_{kind_name}"
    check.__doc__ = kind_check.__doc__
    return check


check_fusion = _public_check("fusion")
check_aggregator = _public_check("aggregator")
check_attention = _public_check("attention")
check_backbone = _public_check("backbone")
check_loss = _public_check("loss")

__all__ = [
    "EXPORT_ATOL",
    "EXPORT_RTOL",
    "MASK_TOLERANCE",
    "assert_same",
    "check_aggregator",
    "check_attention",
    "check_backbone",
    "check_fusion",
    "check_loss",
    "check_module",
    "component_names",
    "single_thread",
]
