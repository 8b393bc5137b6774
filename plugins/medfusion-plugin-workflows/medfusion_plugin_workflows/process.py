"""Child processes of nodes and jobs: started in their own process group, terminated as a group.

On Linux a child also receives SIGTERM when the thread that started it dies (``PR_SET_PDEATHSIG``),
so that a ``kill -9`` of the engine does not leave trainings running without an owner.
"""

from __future__ import annotations

import ctypes
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

#: Environment variable: the command prefix that runs ``medfusion`` subcommands (shell words).
LAUNCHER_ENV = "MEDFUSION_WORKFLOW_LAUNCHER"
_PR_SET_PDEATHSIG = 1
#: Seconds a terminated group has before it is killed.
GRACE_S = 5.0


def launcher() -> list[str]:
    """The command prefix of ``medfusion``: ``$MEDFUSION_WORKFLOW_LAUNCHER`` or this interpreter
    running ``-m medfusion_core``."""
    env = os.environ.get(LAUNCHER_ENV, "").strip()
    return shlex.split(env) if env else [sys.executable, "-m", "medfusion_core"]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    argv: Sequence[str], *, env: dict[str, str], stdout: object, stderr: object, bound: bool = True
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session; ``bound`` children die with the starting thread."""
    return subprocess.Popen(
        list(argv),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        preexec_fn=_die_with_parent if bound else None,
    )


def terminate_group(pid: int, process: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the process group of ``pid``, then SIGKILL it after :data:`GRACE_S`."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if _gone(pid, process):
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if process is not None:
        process.wait()


def _gone(pid: int, process: subprocess.Popen[bytes] | None) -> bool:
    """Wait up to :data:`GRACE_S` for the group leader ``pid`` to exit."""
    if process is not None:
        try:
            process.wait(GRACE_S)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
