"""Options shared by the commands that use one trained model of a run (export, predict)."""

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
