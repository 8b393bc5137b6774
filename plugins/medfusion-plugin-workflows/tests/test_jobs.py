"""The training service: real ``medfusion train`` jobs in their own processes, queued by
priority, cancelled, re-attached after a restart, interrupted and resumed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import yaml
from medfusion_plugin_tracking.store import TrackingStore
from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.jobs import TrainingService

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _long(demo_config: Path, tmp_path: Path, name: str) -> Path:
    """A config that trains for minutes (many epochs) under its own run name."""
    config = yaml.safe_load(demo_config.read_text())
    config["name"] = name
    config["data"]["manifest"] = str(demo_config.parent / "manifest.csv")
    config["trainer"]["params"]["epochs"] = 500
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _until(predicate, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_job_trains_keeps_its_log_and_records_its_run(demo_config, url, tmp_path) -> None:
    service = TrainingService(url, tmp_path / "runs", env=ONE_THREAD)
    try:
        assert service.max_concurrent == 1  # no GPU here
        job_id = service.submit(demo_config, modalities="clinical")
        job = service.wait(job_id, timeout=300)
        assert job["state"] == "finished", service.log(job_id)[0][-2000:]
        assert job["exit_code"] == 0 and job["run_dir"] == str(tmp_path / "runs" / "demo")
        with TrackingStore(url) as store:
            assert store.get_run(job["run_ids"][0]).status == "finished"
        text, offset = service.log(job_id)
        assert f"run: {tmp_path / 'runs' / 'demo'}" in text and offset == len(text.encode())
        assert service.log(job_id, offset) == ("", offset)
        with pytest.raises(WorkflowError, match="modalities 'both'"):
            service.submit(demo_config, modalities="both")
    finally:
        service.close()


def test_priorities_cancel_and_a_restart(demo_config, url, tmp_path) -> None:
    service = TrainingService(url, tmp_path / "runs", max_concurrent=1, env=ONE_THREAD)
    first = service.submit(_long(demo_config, tmp_path, "first"), modalities="clinical")
    _until(lambda: service.job(first)["state"] == "running", "the first job to start")
    low = service.submit(_long(demo_config, tmp_path, "low"), modalities="clinical", priority=0)
    high = service.submit(_long(demo_config, tmp_path, "high"), modalities="clinical", priority=5)
    assert [job["id"] for job in service.jobs()] == [high, first, low]  # queue order
    checkpoint = tmp_path / "runs" / "first" / "clinical-only" / "checkpoints" / "last.pt"
    _until(checkpoint.is_file, "the first epoch's checkpoint")

    service.close()  # the service stops; its job does not
    restarted = TrainingService(url, tmp_path / "runs", max_concurrent=1, env=ONE_THREAD)
    try:
        assert restarted.recover() == [first]
        pid = int(restarted.store.job_row(first)["handle"])
        restarted.cancel(first)
        assert restarted.job(first)["state"] == "cancelled"
        assert service.executor.poll(str(pid), Path()) is not None  # reap: the wrapper is our child
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
        _until(lambda: restarted.job(high)["state"] == "running", "the high-priority job")
        assert restarted.job(low)["state"] == "queued"
        restarted.cancel(low)
        assert restarted.job(low)["state"] == "cancelled"

        restarted.close()  # now the job's process dies while no service watches it
        os.killpg(int(restarted.store.job_row(high)["handle"]), signal.SIGKILL)
        restarted.executor.poll(restarted.store.job_row(high)["handle"], Path())  # reap our child
        again = TrainingService(url, tmp_path / "runs", max_concurrent=1, env=ONE_THREAD)
        assert again.recover() == []
        assert (
            again.job(high)["state"] == "interrupted" and "without an exit code" in again.job(high)["error"]
        )

        again.resume(first)  # continues from its checkpoint
        _until(lambda: "--resume" in again.log(first)[0], "the resumed command")
        _until(lambda: again.job(first)["state"] == "running", "the resumed job")
        again.cancel(first)
        again.close()
        assert again.job(first)["state"] == "cancelled"
        with pytest.raises(WorkflowError, match="only a queued or running job is cancelled"):
            again.cancel(low)
        assert [job["state"] for job in again.jobs()] == ["interrupted", "cancelled", "cancelled"]
    finally:
        restarted.close()
