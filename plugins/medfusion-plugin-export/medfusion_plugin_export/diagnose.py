"""Find which component of a model an exporter cannot handle, for a one-line ExportError.

Each component of the model (backbone, aggregator, fusion, ..., then the other top-level
children) is exported on its own, with the inputs it received during one eager forward pass; the
first one that fails is the culprit. If they all pass, the failure lies in the model's own code
between the components.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

#: Exports one module on ``(args, kwargs)``, raising on failure.
ComponentExporter = Callable[["nn.Module", tuple[Any, ...], dict[str, Any]], Any]


Captured = dict[str, tuple[tuple[Any, ...], dict[str, Any]]]
#: Inputs of a module that is not called through ``forward`` (e.g. a backbone used through
#: ``forward_features``), derived from another module's captured inputs: path -> (source, derive).
Derived = Mapping[
    str, tuple[str, Callable[[tuple[Any, ...], dict[str, Any]], tuple[tuple[Any, ...], dict[str, Any]]]]
]


def capture_inputs(
    model: nn.Module, paths: Iterable[str], example_inputs: tuple[torch.Tensor, ...]
) -> Captured:
    """The first ``(args, kwargs)`` each sub-module in ``paths`` receives in one eager forward."""
    import torch

    captured: Captured = {}
    handles = []
    for path in paths:

        def hook(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], path: str = path) -> None:
            captured.setdefault(path, (args, dict(kwargs)))

        handles.append(model.get_submodule(path).register_forward_pre_hook(hook, with_kwargs=True))
    try:
        with torch.no_grad():
            model(*example_inputs)
    finally:
        for handle in handles:
            handle.remove()
    return captured


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of a ``raise ... from`` chain (exporters wrap the real error)."""
    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen:
        exc = exc.__cause__
        seen.add(id(exc))
    return exc


def first_line(exc: BaseException) -> str:
    """``Type: first line`` of the root cause of ``exc``, without terminal colour codes, at most
    160 characters."""
    exc = _root_cause(exc)
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[0] if lines else ""
    line = line if len(line) <= 160 else line[:157] + "..."
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def _candidates(model: nn.Module, labels: Mapping[str, str]) -> list[str]:
    """Labelled sub-modules present in ``model`` (most specific first), then the other direct
    children."""
    present = {name for name, _ in model.named_modules() if name}
    labelled = sorted((p for p in labels if p in present), key=lambda p: -p.count("."))
    children = [name for name, _ in model.named_children() if name not in labelled]
    return labelled + children


def find_culprit(
    model: nn.Module,
    example_inputs: tuple[torch.Tensor, ...],
    export_one: ComponentExporter,
    labels: Mapping[str, str],
    derived: Derived | None = None,
) -> tuple[str, str] | None:
    """``(label, first line of the error)`` of the first sub-module that fails ``export_one``,
    or ``None`` when they all export. ``labels`` maps sub-module paths (``image_encoder.backbone``)
    to what the user calls them (``"backbone 'resnet18'"``); the labelled ones are tried first,
    then the other direct children under their attribute names."""
    derived = derived or {}
    candidates = _candidates(model, labels)
    sources = {source for source, _ in derived.values()}
    try:
        captured = capture_inputs(model, {*candidates, *sources}, example_inputs)
    except Exception as exc:
        return "the model's forward pass", first_line(exc)
    for path, (source, derive) in derived.items():
        if path not in captured and source in captured:
            captured[path] = derive(*captured[source])
    for path in candidates:
        if path not in captured:
            continue
        args, kwargs = captured[path]
        try:
            export_one(model.get_submodule(path), args, kwargs)
        except Exception as exc:
            return labels.get(path, f"module {path!r}"), first_line(exc)
    return None


def describe_failure(
    fmt: str,
    error: BaseException,
    model: nn.Module,
    example_inputs: tuple[torch.Tensor, ...],
    export_one: ComponentExporter,
    labels: Mapping[str, str],
    derived: Derived | None = None,
) -> str:
    """One-line message for an export that raised ``error``, naming the culprit component."""
    culprit = find_culprit(model, example_inputs, export_one, labels, derived)
    if culprit is None:
        return (
            f"{fmt} export failed in the model code joining the components (each component exports "
            f"on its own): {first_line(error)}; try another --format or report it with --traceback"
        )
    label, reason = culprit
    return (
        f"{fmt} export failed: {label} cannot be exported ({reason}); choose another component "
        f"in the config or another --format"
    )
