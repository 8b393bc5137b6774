"""Child processes of nodes and jobs: started in their own process group, terminated as a group.

On Linux a child also receives SIGTERM when the thread that started it dies (``PR_SET_PDEATHSIG``),
so that a ``kill -9`` of the engine does not leave trainings running without an owner; a child
whose starter died before it could ask for that signal terminates itself.

A child may run at a lower CPU priority (``nice``). Its own session is its own scheduling group
where the kernel groups processes by session (``CONFIG_SCHED_AUTOGROUP``, on by default in most
distributions), and a nice value then ranks a process only within its group: a ``nice 10``
training in its session still took as much CPU as the whole web server (``benchmarks/api_load.py``:
0.79 of 2 cores against the server's 0.70). So the group is given the same nice value
(``/proc/self/autogroup``).
"""

from __future__ import annotations

import ctypes
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

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


def _die_with_parent(parent: int) -> None:
    """Ask for SIGTERM when the starting thread dies; if the starter ``parent`` is already gone
    (killed between fork and this call, so the kernel will never send it), terminate now."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)


def _lower_priority(nice: int) -> None:
    """Add ``nice`` to this process's nice value and give its session's scheduling group the
    result, where the kernel has such groups (plain system calls: no Python-level locks)."""
    value = os.nice(nice)
    try:
        group = os.open("/proc/self/autogroup", os.O_WRONLY)
    except OSError:  # no autogroups here: the process's own nice value is what counts
        return
    try:
        os.write(group, str(value).encode())
    except OSError:
        pass
    finally:
        os.close(group)


def _child_setup(bound: bool, nice: int) -> Callable[[], None] | None:
    """What the child runs between fork and exec (after it became a session leader)."""
    if not bound and not nice:
        return None
    parent = os.getpid()

    def setup() -> None:
        if bound:
            _die_with_parent(parent)
        if nice:
            _lower_priority(nice)

    return setup


def spawn(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    stdout: object,
    stderr: object,
    bound: bool = True,
    nice: int = 0,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session; ``bound`` children die with the starting thread, and the
    child runs ``nice`` levels below this process (its session's scheduling group too)."""
    return subprocess.Popen(
        list(argv),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        preexec_fn=_child_setup(bound, nice),
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
