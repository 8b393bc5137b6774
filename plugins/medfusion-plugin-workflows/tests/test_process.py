"""Child processes: their own session, and a lower CPU priority that holds across sessions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from medfusion_plugin_workflows.executors import LocalExecutor
from medfusion_plugin_workflows.process import spawn

AUTOGROUP = Path("/proc/self/autogroup")
REPORT = (
    "import os, pathlib; group = pathlib.Path('/proc/self/autogroup');"
    "print(os.nice(0), os.getsid(0), group.read_text().strip() if group.exists() else '-')"
)


def _report(output: str) -> tuple[int, int, str]:
    """The child's nice value, session id and scheduling group (``-``: the kernel has none)."""
    nice, session, group = output.strip().split(" ", 2)
    return int(nice), int(session), group


def test_a_child_runs_nice_levels_below_in_its_own_lowered_session_group() -> None:
    child = spawn(
        [sys.executable, "-c", REPORT], env=dict(os.environ), stdout=subprocess.PIPE, stderr=None, nice=5
    )
    nice, session, group = _report(child.communicate(timeout=60)[0].decode())
    assert child.returncode == 0
    assert session == child.pid  # a session of its own: where the kernel groups by session, a group
    assert nice == os.nice(0) + 5
    if AUTOGROUP.exists():  # the kernel groups by session: the group is lowered too
        assert group.endswith(f"nice {nice}")
        assert group.split(" ")[0] != AUTOGROUP.read_text().split(" ")[0]


def test_a_child_without_nice_keeps_this_priority() -> None:
    child = spawn([sys.executable, "-c", REPORT], env=dict(os.environ), stdout=subprocess.PIPE, stderr=None)
    nice, _, group = _report(child.communicate(timeout=60)[0].decode())
    assert nice == os.nice(0)
    if AUTOGROUP.exists():
        assert group.endswith(AUTOGROUP.read_text().strip().rsplit(" ", 1)[1])


def test_the_local_executor_starts_jobs_at_its_nice_level(tmp_path: Path) -> None:
    executor = LocalExecutor(nice=3)
    log = tmp_path / "job.log"
    handle = executor.launch([sys.executable, "-c", REPORT], log, dict(os.environ))
    executor._processes[handle].wait(60)
    assert executor.poll(handle, log) == 0
    nice, session, group = _report(log.read_text().splitlines()[-1])
    assert session == int(handle)  # the job's wrapper leads the session, the command runs in it
    assert nice == os.nice(0) + 3
    if AUTOGROUP.exists():
        assert group.endswith(f"nice {nice}")
