"""Progress display: a rich bar with live loss when stderr is a terminal, one line per epoch otherwise."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    """Shows training progress on stderr (rank 0 only); ``mode`` is auto, always or never."""

    def __init__(self, mode: str, enabled: bool, label: str) -> None:
        self.enabled = enabled and mode != "never"
        self.live = self.enabled and (mode == "always" or sys.stderr.isatty())
        self.label = label
        self._bar: Any = None
        self._task: Any = None

    def start_epoch(self, epoch: int, epochs: int, total: int, done: int) -> None:
        """Begin the bar of one epoch (``done`` batches already trained when resuming)."""
        if not self.live:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn(f"{self.label} epoch {epoch + 1}/{epochs}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("train", total=total, completed=done, status="")

    def advance(self, loss: float) -> None:
        """One batch done, with the running loss."""
        if self._bar is not None:
            self._bar.update(self._task, advance=1, status=f"loss {loss:.4f}")

    def end_epoch(self, epoch: int, epochs: int, metrics: dict[str, Any]) -> None:
        """Close the bar and print the epoch's one-line summary."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if self.enabled:
            shown = " ".join(
                f"{key} {value:.4f}" for key, value in metrics.items() if isinstance(value, float)
            )
            print(f"{self.label} epoch {epoch + 1}/{epochs}: {shown}", file=sys.stderr, flush=True)
