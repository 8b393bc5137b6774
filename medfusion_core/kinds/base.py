"""What every kind shares: the pluggy markers, the :class:`Kind` descriptor and the metadata base.

A kind module (``kinds/fusion.py``, ...) defines the kind's hookspec, a ``typing.Protocol`` of the
component, its metadata class (a subclass of :class:`Info`) and, where one exists, its conformance
check, and ends with the kind's :class:`Kind` descriptor. Nothing here imports torch or numpy.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import attrs
import pluggy

PROJECT = "medfusion"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

InfoT = TypeVar("InfoT", bound="Info")
T = TypeVar("T")


def _plain(value: Any) -> Any:
    """JSON form of a metadata value: tuples become lists."""
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def strings(value: Any) -> tuple[str, ...]:
    """Converter: a list or tuple of strings as a tuple."""
    return tuple(str(item) for item in value)


@attrs.frozen
class Info:
    """Typed metadata of one component (the kind's subclass lists the fields it accepts).

    It is serialised, non-default fields only, into the ``"extra"`` key of a spec's JSON form.
    """

    def to_json(self) -> dict[str, Any]:
        """The fields that differ from their defaults, as plain JSON values."""
        out = {}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            default = field.default.factory() if isinstance(field.default, attrs.Factory) else field.default
            if value != default:
                out[field.name] = _plain(value)
        return out

    @classmethod
    def from_json(cls: type[InfoT], data: Mapping[str, Any]) -> InfoT:
        """Build from a plain mapping (a legacy ``extra={...}`` dict); an unknown key is a
        :class:`TypeError` naming the accepted ones."""
        known = [field.name for field in attrs.fields(cls)]
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                accepted = ", ".join(known) or "none"
                raise TypeError(f"{cls.__name__}: unknown metadata key {key!r}{hint} (accepted: {accepted})")
        return cls(**data)


@attrs.frozen
class ModuleInfo(Info):
    """Metadata every ``nn.Module`` kind accepts (fusion, aggregator, attention, loss, backbone).

    Attributes:
        examples: concrete names of a family spec (``resnet*``) that the conformance kit tests.
        exportable: False when the module cannot be traced by ``torch.export`` (the conformance
            kit then skips its export check).
    """

    examples: tuple[str, ...] = attrs.field(default=(), converter=strings)
    exportable: bool = True


@attrs.frozen
class Kind:
    """One component kind: everything derived from the one list in :mod:`medfusion_core.kinds`.

    Attributes:
        name: the kind as written in specs and on the command line (``fusion``).
        spec: the hookspec function (its docstring is the kind's contract; its name is the hook's).
        info: metadata class of the kind's specs.
        protocol: ``typing.Protocol`` of the component the factory builds.
        check: the conformance check of the kind, or ``None`` where the kit has none.
    """

    name: str
    spec: Callable[[], Any]
    info: type[Info]
    protocol: type
    check: Callable[..., Any] | None = None

    @property
    def hook(self) -> str:
        """The pluggy hook's name (``medfusion_register_fusions``)."""
        return self.spec.__name__


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run the block with one intra-op torch thread (restored afterwards): for tiny tensors,
    several threads on a shared or small machine only add contention. Imports torch."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def single_threaded(check: Callable[..., T]) -> Callable[..., T]:
    """Decorator: run the conformance ``check`` inside :func:`single_thread`."""

    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> T:
        with single_thread():
            return check(*args, **kwargs)

    return run
