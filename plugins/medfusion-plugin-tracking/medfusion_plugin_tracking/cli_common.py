"""What the ``runs`` and ``models`` commands share: the store options, JSON and table output."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from medfusion_plugin_tracking.store import TrackingStore


def store_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--store URL`` and ``--runs-dir DIR`` (where the default SQLite file lives)."""
    command = click.option(
        "--runs-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("runs"),
        show_default=True,
        help="Runs folder holding the default store file medfusion.db.",
    )(command)
    return click.option(
        "--store",
        "store_url",
        metavar="URL",
        help="Store URL (default: $MEDFUSION_TRACKING_URI or RUNS_DIR/medfusion.db).",
    )(command)


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--json`` (machine-readable output)."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(command)


def open_store(store_url: str | None, runs_dir: Path) -> TrackingStore:
    """The store the options name."""
    return TrackingStore(store_url, runs_dir=runs_dir)


def echo_json(document: Any) -> None:
    """Print ``document`` as indented JSON."""
    click.echo(json.dumps(document, indent=2, sort_keys=True, default=str))


def when(timestamp: float | None) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM`` (UTC), or ``-``."""
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M")


def number(value: Any) -> str:
    """A metric value for a table: 4 significant decimals, ``nan`` for a missing point."""
    if value is None:
        return "nan"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def echo_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print rows under a header, columns padded to their widest cell."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        click.echo(
            "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        )
