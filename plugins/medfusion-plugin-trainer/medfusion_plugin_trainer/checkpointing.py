"""Checkpoints written in the background, so training does not wait for serialisation and fsync.

The caller's thread takes a snapshot (detached CPU copies of every tensor, a few milliseconds);
one background thread serialises it with :func:`medfusion_core.runs.save_checkpoint` (atomic:
temporary file, fsync, rename). At most one write is in flight: a new checkpoint first waits
for the previous one, and a failed write is raised on the caller's thread at the next
:meth:`CheckpointWriter.submit` or :meth:`CheckpointWriter.wait`. A crash during a write leaves
the previous checkpoint intact.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from medfusion_core import runs
from medfusion_core.errors import CheckpointError


def detached_copy(value: Any) -> Any:
    """``value`` with every tensor replaced by a detached CPU copy (containers rebuilt)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: detached_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(detached_copy(item) for item in value)
    return value


class CheckpointWriter:
    """Writes one checkpoint at a time in a background thread (see the module docstring)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medfusion-checkpoint")
        self._pending: Future[None] | None = None

    def submit(self, path: Path, state: dict[str, Any], then: Callable[[], None] | None = None) -> None:
        """Snapshot ``state`` now and write it to ``path`` in the background, then call ``then``
        (on the writer thread) once the file is in place."""
        self.wait()
        self._pending = self._pool.submit(_write, path, detached_copy(state), then)

    def wait(self) -> None:
        """Block until the pending write (if any) is on disk; raise its error if it failed."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Finish the pending write and stop the thread."""
        try:
            self.wait()
        finally:
            self._pool.shutdown(wait=True)


def _write(path: Path, state: dict[str, Any], then: Callable[[], None] | None) -> None:
    try:
        runs.save_checkpoint(path, state)
        if then is not None:
            then()
    except OSError as exc:
        raise CheckpointError(
            f"{path}: could not write the checkpoint ({exc.strerror or exc}); free disk space or "
            "check permissions, then resume with --resume"
        ) from None
