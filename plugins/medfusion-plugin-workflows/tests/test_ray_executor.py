"""The Ray executor against a real local Ray head on loopback (1 CPU, a small object store),
started and stopped by the fixture: a training job runs as a Ray task and is recorded."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from medfusion_plugin_workflows.jobs import TrainingService
from medfusion_plugin_workflows.process import terminate_group

RAY = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head() -> Iterator[str]:
    """``ray start --head --block`` on 127.0.0.1 in its own process group; its address."""
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen(
        [
            str(RAY),
            "start",
            "--head",
            "--block",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(port),
            "--num-cpus",
            "1",
            "--num-gpus",
            "0",
            "--object-store-memory",
            str(80 * 1024 * 1024),
            "--include-dashboard",
            "false",
            "--temp-dir",
            temp,
            "--disable-usage-stats",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert head.poll() is None and time.monotonic() < deadline, "ray start --head did not come up"
        time.sleep(0.5)
    yield address
    import ray

    ray.shutdown()
    terminate_group(head.pid, head)
    shutil.rmtree(temp, ignore_errors=True)


def test_a_job_runs_as_a_ray_task(ray_head, demo_config, url, tmp_path) -> None:
    from medfusion_plugin_workflows.executors import RayExecutor

    executor = RayExecutor(ray_head)
    service = TrainingService(url, tmp_path / "runs", executor=executor, env={"OMP_NUM_THREADS": "1"})
    try:
        job_id = service.submit(demo_config, modalities="clinical")
        job = service.wait(job_id, timeout=300)
        assert job["executor"] == "ray"
        assert job["state"] == "finished", (job.get("error"), service.log(job_id)[0][-2000:])
        assert job["run_ids"] and f"run: {tmp_path / 'runs' / 'demo'}" in service.log(job_id)[0]
        restarted = TrainingService(url, tmp_path / "runs", executor=RayExecutor(ray_head))
        assert restarted.job(job_id)["state"] == "finished"
        restarted.close()
    finally:
        service.close()
