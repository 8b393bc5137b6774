"""Where training jobs run: :class:`LocalExecutor` (a process per job on this machine, the
default) or :class:`RayExecutor` (a task per job on a Ray cluster). Both start the job's command
with its output appended to the job's log file."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.process import spawn, terminate_group
from medfusion_plugin_workflows.store import pid_alive


class JobLost(WorkflowError):
    """The executor no longer knows the job and it left no exit code (it was interrupted)."""


def exit_file(log_path: Path) -> Path:
    """Where a job's wrapper writes its exit code (beside the log)."""
    return log_path.with_suffix(".exit")


@runtime_checkable
class Executor(Protocol):
    """Starts, watches and stops job processes."""

    name: str

    def launch(self, argv: list[str], log_path: Path, env: dict[str, str]) -> str:
        """Start ``argv`` with output appended to ``log_path``; returns a handle to store."""

    def poll(self, handle: str, log_path: Path) -> int | None:
        """The exit code, or None while it runs; :class:`JobLost` when it vanished."""

    def cancel(self, handle: str) -> None:
        """Stop the job and its child processes."""


class LocalExecutor:
    """A process per job on this machine, ``nice`` levels below this one; a job started before a
    restart is re-attached by pid."""

    name = "local"

    def __init__(self, *, nice: int = 0) -> None:
        self.nice = nice
        self._processes: dict[str, Any] = {}

    def launch(self, argv: list[str], log_path: Path, env: dict[str, str]) -> str:
        """Start the job's wrapper in its own session (it outlives this process)."""
        wrapper = [sys.executable, "-m", "medfusion_plugin_workflows.jobrun", str(exit_file(log_path)), *argv]
        with open(log_path, "ab") as log:
            log.write(("$ " + " ".join(argv) + "\n").encode())
            log.flush()
            process = spawn(wrapper, env=env, stdout=log, stderr=log, bound=False, nice=self.nice)
        self._processes[str(process.pid)] = process
        return str(process.pid)

    def poll(self, handle: str, log_path: Path) -> int | None:
        """The wrapper's exit code (from the process, or its exit file after a restart)."""
        process = self._processes.get(handle)
        if process is not None:
            return process.poll()
        if pid_alive(None, int(handle)):
            return None
        if exit_file(log_path).is_file():
            return int(exit_file(log_path).read_text().strip() or 1)
        raise JobLost(f"job process {handle} is gone without an exit code")

    def cancel(self, handle: str) -> None:
        """Terminate the job's process group (SIGTERM, then SIGKILL)."""
        terminate_group(int(handle), self._processes.get(handle))


def _ray_job(argv: list[str], log_path: str, env: dict[str, str]) -> int:
    """The Ray task: run the job's command on the worker (a cancel kills the worker and, through
    the parent-death signal, the command)."""
    with open(log_path, "ab") as log:
        process = spawn(argv, env={**os.environ, **env}, stdout=log, stderr=log)
        try:
            return process.wait()
        finally:
            if process.poll() is None:
                terminate_group(process.pid, process)


class RayExecutor:
    """A Ray task per job on the cluster at ``address`` (``"auto"``: ``$RAY_ADDRESS`` or a local
    ``ray start``). The log path must be on storage the workers share (one machine, NFS)."""

    name = "ray"

    def __init__(self, address: str = "auto", *, num_cpus: float = 1) -> None:
        # The cluster's workers run the medfusion installed on them. Ray would otherwise copy the
        # driver's `uv run` environment (its working directory and a `uv run` interpreter) to every
        # worker when the driver was started by `uv run`, and the jobs could not import the
        # plugins there; RAY_ENABLE_UV_RUN_RUNTIME_ENV=1 in the environment keeps Ray's behaviour.
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
        try:
            import ray
        except ImportError:
            raise WorkflowError(
                "the Ray executor needs ray: pip install 'medfusion-plugin-workflows[ray]'"
            ) from None
        self._ray = ray
        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False, include_dashboard=False)
        self._task = ray.remote(num_cpus=num_cpus, max_retries=0)(_ray_job)
        self._refs: dict[str, Any] = {}

    def launch(self, argv: list[str], log_path: Path, env: dict[str, str]) -> str:
        """Submit the job as a Ray task."""
        ref = self._task.remote(list(argv), str(log_path), dict(env))
        self._refs[ref.hex()] = ref
        return ref.hex()

    def poll(self, handle: str, log_path: Path) -> int | None:
        """The task's exit code once it is done; a task of an earlier process is lost."""
        ref = self._refs.get(handle)
        if ref is None:
            raise JobLost(f"ray task {handle[:12]} was submitted by another process")
        ready, _ = self._ray.wait([ref], timeout=0)
        if not ready:
            return None
        try:
            return int(self._ray.get(ref))
        except self._ray.exceptions.RayError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            cause = lines[-1] if lines else type(exc).__name__
            raise JobLost(f"ray task {handle[:12]} failed: {cause}") from None

    def cancel(self, handle: str) -> None:
        """Cancel the task (its worker is killed)."""
        ref = self._refs.get(handle)
        if ref is not None:
            self._ray.cancel(ref, force=True)
