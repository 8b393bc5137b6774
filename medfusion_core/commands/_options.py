"""Options shared by commands: one trained model of a run (export, predict), the variants to
train or check (train, validate)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from medfusion_core.runs import VARIANT_DIRS

F = TypeVar("F", bound=Callable[..., object])


def out_and_variant_options(
    *, out_help: str, variant_help: str, out_default: Path | None = None
) -> Callable[[F], F]:
    """``--out FILE`` (default ``out_default``) then ``--variant fused|image|clinical`` (default
    ``fused``), as one decorator."""

    def decorate(command: F) -> F:
        command = click.option(
            "--variant",
            type=click.Choice(list(VARIANT_DIRS)),
            default="fused",
            show_default=True,
            help=variant_help,
        )(command)
        return click.option(
            "--out",
            type=click.Path(path_type=Path, dir_okay=False),
            default=out_default,
            show_default=out_default is not None,
            help=out_help,
        )(command)

    return decorate


#: ``--modalities`` choices -> the variants trained (``train``) or built (``validate``).
VARIANTS: dict[str, tuple[str, ...]] = {
    "fused": ("fused",),
    "image": ("image",),
    "clinical": ("clinical",),
    "all": ("fused", "image", "clinical"),
}


def modalities_option(help_text: str) -> Callable[[F], F]:
    """``--modalities fused|image|clinical|all`` (default ``fused``)."""
    return click.option(
        "--modalities",
        type=click.Choice(list(VARIANTS)),
        default="fused",
        show_default=True,
        help=help_text,
    )
