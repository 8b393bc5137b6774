"""Shared output helpers for commands: a rich console on stdout and JSON printing."""

from __future__ import annotations

import json
from typing import Any

import click


def console() -> Any:
    """A rich console writing to stdout (imported lazily: rich costs start-up time)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def print_json(data: Any) -> None:
    """Print ``data`` as indented, key-sorted JSON (stable for scripts)."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
