"""The training service: a priority queue of ``medfusion train`` jobs, each in its own process
with its log kept, at most ``max_concurrent`` at once (default: one per GPU, or one on CPU).

Jobs live in the ``training_jobs`` table, so they survive a restart of the service:
:meth:`TrainingService.recover` re-attaches a job whose process still runs, records the exit
code of one that ended meanwhile, and marks the others ``interrupted``;
:meth:`TrainingService.resume` queues them again with the trainer's ``--resume``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from medfusion_plugin_tracking.engine import URI_ENV

from medfusion_core.runs.io import atomic_write
from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.executors import Executor, JobLost, LocalExecutor
from medfusion_plugin_workflows.nodes.common import last_line
from medfusion_plugin_workflows.process import launcher
from medfusion_plugin_workflows.store import WorkflowStore

#: ``modalities`` a job accepts (``medfusion train --modalities``).
MODALITIES = ("fused", "image", "clinical", "all")
#: How often the scheduler looks at the queue and the running jobs, in seconds.
TICK_S = 0.5
_KEYS = (
    "id",
    "state",
    "priority",
    "modalities",
    "owner",
    "executor",
    "resume",
    "log_path",
    "run_dir",
    "run_ids",
    "exit_code",
    "error",
    "created",
    "started",
    "ended",
)


def gpu_count() -> int:
    """GPUs ``nvidia-smi -L`` lists (0 without the tool or a driver); torch is not imported."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return 0
    try:
        done = subprocess.run([tool, "-L"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in done.stdout.splitlines() if line.startswith("GPU "))


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


class TrainingService:
    """Queue, run and watch training jobs in the database at ``url``.

    Args:
        url: the tracking store's database URL (jobs record their runs there).
        runs_dir: where runs are trained; job logs live in ``<runs_dir>/jobs/<id>/``.
        max_concurrent: jobs run at once (default: one per GPU, else 1).
        executor: where jobs run (default :class:`~.executors.LocalExecutor`).
        env: extra environment of the jobs (e.g. ``OMP_NUM_THREADS``).
    """

    def __init__(
        self,
        url: str,
        runs_dir: Path,
        max_concurrent: int | None = None,
        executor: Executor | None = None,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.runs_dir = Path(runs_dir).resolve()
        self.gpus = gpu_count()
        self.max_concurrent = max_concurrent or max(1, self.gpus)
        if self.max_concurrent < 1:
            raise WorkflowError(f"max_concurrent must be at least 1, got {max_concurrent}")
        self.executor = executor or LocalExecutor()
        self.env = dict(env or {})
        self.store = WorkflowStore(url)
        self._slots: dict[str, int] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- requests ------------------------------------------------------------------------------

    def submit(
        self,
        config: str | Path | Mapping[str, Any],
        modalities: str = "all",
        priority: int = 0,
        owner: str | None = None,
    ) -> str:
        """Queue a training of ``config`` (a config file, or the config as a dict); returns the id."""
        if modalities not in MODALITIES:
            raise WorkflowError(f"modalities {modalities!r}: choose one of {', '.join(MODALITIES)}")
        folder = self.runs_dir / "jobs"
        folder.mkdir(parents=True, exist_ok=True)
        if isinstance(config, Mapping):
            text = yaml.safe_dump(dict(config), sort_keys=False)
            path = atomic_write(
                folder / f"config-{time.time_ns()}.yaml", lambda handle: handle.write(text.encode())
            )
        else:
            path = Path(config).resolve()
            if not path.is_file():
                raise WorkflowError(f"{config}: no such config file")
        job_id = self.store.create_job(
            config_path=str(path),
            modalities=modalities,
            priority=int(priority),
            owner=owner,
            executor=self.executor.name,
            resume=False,
            log_path="",
        )
        self.store.update_job(job_id, log_path=str(folder / job_id / "train.log"))
        self._kick()
        return job_id

    def cancel(self, job_id: str) -> None:
        """Drop a queued job, or stop a running one (its processes are terminated)."""
        row = self.store.job_row(job_id)
        if row["state"] == "queued" and self.store.update_job(
            row["id"], expect="queued", state="cancelled", ended=time.time()
        ):
            return
        if row["state"] != "running":
            raise WorkflowError(
                f"job {row['id'][:8]} is {row['state']}; only a queued or running job is cancelled"
            )
        self.store.update_job(row["id"], expect="running", state="cancelling")
        self.executor.cancel(row["handle"])
        self._settle(self.store.job_row(row["id"]), None, cancelled=True)

    def resume(self, job_id: str) -> None:
        """Queue an interrupted, cancelled or failed job again; it continues from its checkpoints."""
        row = self.store.job_row(job_id)
        if row["state"] not in ("interrupted", "cancelled", "failed"):
            raise WorkflowError(
                f"job {row['id'][:8]} is {row['state']}; only an interrupted, cancelled or failed job resumes"
            )
        self.store.update_job(row["id"], state="queued", resume=True, error=None, exit_code=None, ended=None)
        self._kick()

    # -- reading -------------------------------------------------------------------------------

    def jobs(self) -> list[dict[str, Any]]:
        """Every job, in queue order (priority, then age)."""
        return [self._public(row) for row in self.store.job_rows()]

    def job(self, job_id: str) -> dict[str, Any]:
        """One job: ``id``, ``state`` (queued, running, finished, failed, cancelled, interrupted),
        ``priority``, ``modalities``, ``config``, ``log_path``, ``run_dir``, ``run_ids`` (in the
        tracking store), ``exit_code``, ``error`` and times."""
        return self._public(self.store.job_row(job_id))

    def log(self, job_id: str, offset: int = 0) -> tuple[str, int]:
        """The job's log from byte ``offset``: ``(text, offset to ask from next)``."""
        path = Path(self.store.job_row(job_id)["log_path"])
        if not path.is_file():
            return "", offset
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
        return data.decode(errors="replace"), offset + len(data)

    def wait(self, job_id: str, timeout: float = 600.0) -> dict[str, Any]:
        """Block until the job is no longer queued or running (or ``timeout``); returns it."""
        deadline = time.monotonic() + timeout
        while (
            self.job(job_id)["state"] in ("queued", "running", "cancelling") and time.monotonic() < deadline
        ):
            time.sleep(TICK_S / 2)
        return self.job(job_id)

    @staticmethod
    def _public(row: Mapping[str, Any]) -> dict[str, Any]:
        return {key: row[key] for key in _KEYS} | {"config": row["config_path"]}

    # -- restart -------------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """After a restart: re-attach running jobs whose process lives, settle the ones that
        ended, mark the rest ``interrupted``; returns the ids re-attached. Starts the scheduler."""
        attached = self._watch()
        self._kick()
        return attached

    def close(self) -> None:
        """Stop the scheduler thread (running jobs keep running; :meth:`recover` finds them)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    # -- scheduling ----------------------------------------------------------------------------

    def _kick(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="training-service", daemon=True)
                self._thread.start()
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self._tick()
            self._wake.wait(TICK_S)

    def _watch(self) -> list[str]:
        """Poll this executor's running jobs of this machine: settle the ones that ended, mark the
        vanished ones ``interrupted``; returns the ids still running."""
        alive = []
        for row in self.store.job_rows("running"):
            if row["executor"] != self.executor.name or row["host"] != socket.gethostname():
                continue
            try:
                code = self.executor.poll(row["handle"], Path(row["log_path"]))
            except JobLost as exc:
                self.store.update_job(
                    row["id"], expect="running", state="interrupted", error=str(exc), ended=time.time()
                )
                continue
            if code is None:
                alive.append(row["id"])
            else:
                self._settle(row, code)
        return alive

    def _tick(self) -> None:
        self._watch()
        busy = len(self.store.job_rows("running")) + len(self.store.job_rows("cancelling"))
        for row in self.store.job_rows("queued"):
            if busy >= self.max_concurrent:
                break
            if self._start(row):
                busy += 1

    def _start(self, row: Mapping[str, Any]) -> bool:
        if not self.store.update_job(
            row["id"], expect="queued", state="running", host=socket.gethostname(), started=time.time()
        ):
            return False
        log_path = Path(row["log_path"])
        log_path.parent.mkdir(parents=True, exist_ok=True)
        argv = [
            *launcher(),
            "train",
            row["config_path"],
            "--modalities",
            row["modalities"],
            "--runs-dir",
            str(self.runs_dir),
        ]
        if row["resume"]:
            argv.append("--resume")
        env = {**os.environ, **self.env, URI_ENV: self.url}
        if self.gpus:
            used = set(self._slots.values())
            slot = next(index for index in range(self.gpus + len(used)) if index not in used) % self.gpus
            self._slots[row["id"]] = slot
            env["CUDA_VISIBLE_DEVICES"] = str(slot)
        exit_path = log_path.with_suffix(".exit")
        exit_path.unlink(missing_ok=True)
        try:
            handle = self.executor.launch(argv, log_path, env)
        except Exception as exc:  # an executor that cannot start the job fails only this job
            self.store.update_job(
                row["id"], state="failed", error=f"could not start: {exc}", ended=time.time()
            )
            return False
        self.store.update_job(row["id"], handle=handle)
        return True

    def _settle(self, row: Mapping[str, Any], code: int | None, *, cancelled: bool = False) -> None:
        """Record how a job ended: its state, exit code, run folder and tracked run ids."""
        self._slots.pop(row["id"], None)
        log_path = Path(row["log_path"])
        values: dict[str, Any] = {"exit_code": code, "ended": time.time()}
        try:
            run_dir = Path(last_line(log_path.read_text(errors="replace"), "run:"))
        except (OSError, WorkflowError):
            run_dir = None
        if run_dir is not None:
            tracking = run_dir / "tracking.json"
            run_id = yaml.safe_load(tracking.read_text()).get("run_id") if tracking.is_file() else None
            values |= {"run_dir": str(run_dir), "run_ids": [run_id] if run_id else []}
        if cancelled:
            values |= {"state": "cancelled", "error": "cancelled"}
        elif code == 0:
            values |= {"state": "finished", "error": None}
        else:
            values |= {
                "state": "failed",
                "error": _last_line(log_path) if log_path.is_file() else f"exit code {code}",
            }
        self.store.update_job(row["id"], **values)
