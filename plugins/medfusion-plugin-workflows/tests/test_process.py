"""Child processes: their own session, and a lower CPU priority that holds across sessions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from medfusion_plugin_workflows.executors import LocalExecutor
from medfusion_plugin_workflows.process import spawn

AUTOGROUP = Path("/proc/self/autogroup")
REPORT = (
    "import os, pathlib; group = pathlib.Path('/proc/self/autogroup');"
    "print(os.nice(0), os.getsid(0), (group.read_text().strip() or 'root') if group.exists() else '-')"
)


def _report(output: str) -> tuple[int, int, str]:
    """The child's nice value, session id and scheduling group (``-``: the kernel has none;
    ``root``: the process is in no autogroup of its own, e.g. a container's first session)."""
    nice, session, group = output.strip().split(" ", 2)
    return int(nice), int(session), group


def _group_nice(group: str) -> int:
    """The nice value of a scheduling group line (``/autogroup-N nice V``); the root group's is 0."""
    return 0 if group == "root" else int(group.rsplit(" ", 1)[1])


def _own_group() -> str:
    """This process's scheduling group line, as the children report theirs."""
    return AUTOGROUP.read_text().strip() or "root"


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
        assert group.split(" ")[0] != _own_group().split(" ")[0]


def test_a_child_without_nice_keeps_this_priority() -> None:
    child = spawn([sys.executable, "-c", REPORT], env=dict(os.environ), stdout=subprocess.PIPE, stderr=None)
    nice, _, group = _report(child.communicate(timeout=60)[0].decode())
    assert nice == os.nice(0)
    if AUTOGROUP.exists():
        assert _group_nice(group) == _group_nice(_own_group())


def test_a_child_whose_starter_is_gone_terminates_itself() -> None:
    """The death signal is asked for between fork and exec: a starter killed before that (the
    child's parent is then another process) would never send it, so the child ends itself."""
    code = "from medfusion_plugin_workflows.process import _die_with_parent; _die_with_parent(-1)"
    child = subprocess.run([sys.executable, "-c", code + "; print('alive')"], capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGTERM and b"alive" not in child.stdout


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
