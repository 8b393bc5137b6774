"""What a running node sees (:class:`~medfusion_core.kinds.node.NodeContext`): its folder, the
runs folder, the store URL, logging to the execution's events, child processes that a cancel
terminates and records of the datasets, checkpoints and models it made or used."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from medfusion_plugin_tracking.engine import URI_ENV

from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.process import spawn, terminate_group

#: How often a waiting node checks for a cancel, in seconds.
POLL_S = 0.2


class Cancelled(WorkflowError):
    """The execution was cancelled while the node ran."""


class EngineContext:
    """The context of one node attempt."""

    def __init__(
        self,
        *,
        work_dir: Path,
        runs_dir: Path,
        tracking_url: str,
        cancel: threading.Event,
        emit: Callable[[str], None],
        record: Callable[[str, dict[str, Any]], None],
        env: dict[str, str],
        nice: int = 0,
    ) -> None:
        self._work_dir = work_dir
        self._runs_dir = runs_dir
        self._url = tracking_url
        self._cancel = cancel
        self._emit = emit
        self._record = record
        self._env = env
        self._nice = nice

    @property
    def work_dir(self) -> Path:
        """This node's folder of the execution (created on first use)."""
        self._work_dir.mkdir(parents=True, exist_ok=True)
        return self._work_dir

    @property
    def runs_dir(self) -> Path:
        """The runs folder."""
        return self._runs_dir

    @property
    def tracking_url(self) -> str:
        """The database URL of the tracking store and of the workflow tables."""
        return self._url

    def log(self, line: str) -> None:
        """Record one line as a ``log`` event of the execution."""
        self._emit(line)

    def cancelled(self) -> bool:
        """Whether the execution was cancelled."""
        return self._cancel.is_set()

    def call(self, argv: Sequence[str]) -> str:
        """Run ``argv`` with the store URL in its environment, its output appended to the node's
        ``node.log``; a cancel terminates its process group and raises :class:`Cancelled`."""
        if self.cancelled():
            raise Cancelled("cancelled")
        env = {**os.environ, **self._env, URI_ENV: self._url}
        log_path = self.work_dir / "node.log"
        with open(log_path, "ab") as log:
            log.write(("$ " + " ".join(argv) + "\n").encode())
            log.flush()
            process = spawn(argv, env=env, stdout=subprocess.PIPE, stderr=log, nice=self._nice)
            out = b""
            while True:
                try:
                    out += process.communicate(timeout=POLL_S)[0] or b""
                    break
                except subprocess.TimeoutExpired:
                    if self.cancelled():
                        terminate_group(process.pid, process)
                        raise Cancelled("cancelled") from None
            log.write(out)
        text = out.decode(errors="replace")
        for line in text.splitlines():
            self.log(line)
        if process.returncode != 0:
            raise WorkflowError(f"exit code {process.returncode}: {_last_error(log_path)}")
        return text

    def record_dataset(
        self,
        *,
        name: str,
        fingerprint: str,
        manifest: str,
        config: str | None = None,
        patients: int | None = None,
    ) -> None:
        """Record a dataset the node read or wrote, with its fingerprint."""
        values = {"name": name, "fingerprint": fingerprint, "manifest": manifest}
        self._record("datasets", values | {"config": config, "patients": patients})

    def record_checkpoint(
        self,
        *,
        path: Path,
        variant: str,
        role: str,
        run_id: str | None = None,
        epoch: int | None = None,
        monitor: str | None = None,
        value: float | None = None,
    ) -> None:
        """Record a checkpoint file (its size and sha256 read from it); a missing file is a
        one-line :class:`~.errors.WorkflowError`."""
        path = Path(path)
        try:
            with open(path, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:
            raise WorkflowError(f"checkpoint {path}: cannot be read ({exc.strerror})") from None
        self._record(
            "checkpoints",
            {
                "path": str(path),
                "variant": variant,
                "role": role,
                "run_id": run_id,
                "epoch": epoch,
                "monitor": monitor,
                "value": value,
                "size": path.stat().st_size,
                "sha256": digest,
            },
        )

    def record_model(
        self,
        *,
        name: str,
        version: int,
        alias: str | None = None,
        run_id: str | None = None,
        variant: str | None = None,
    ) -> None:
        """Record a model version the node registered or pointed an alias at."""
        values = {"name": name, "version": version, "alias": alias}
        self._record("models", values | {"run_id": run_id, "variant": variant})


def _last_error(log_path: Path) -> str:
    """The last non-empty line of a child's error output."""
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "failed without a message"
