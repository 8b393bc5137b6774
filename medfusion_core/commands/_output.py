"""Shared output helpers for commands: a rich console on stdout, JSON printing, a progress bar."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import click


def console() -> Any:
    """A rich console writing to stdout (imported lazily: rich costs start-up time)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def print_json(data: Any) -> None:
    """Print ``data`` as indented, key-sorted JSON (stable for scripts)."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


@contextlib.contextmanager
def file_progress(label: str = "checking files") -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback drawing a progress bar on stderr (only when stderr is a
    terminal; the bar is removed once ``done`` reaches ``total``, so later output is undisturbed)."""
    from rich.console import Console
    from rich.progress import Progress

    stderr = Console(stderr=True)
    if not stderr.is_terminal:
        yield lambda done, total: None
        return
    with Progress(console=stderr, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
            if done >= total:
                bar.stop()

        yield update
