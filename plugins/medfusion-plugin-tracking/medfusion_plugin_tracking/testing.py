"""Test helpers: a throwaway PostgreSQL server on loopback, and store URLs for SQLite and PostgreSQL.

The server is made with Debian's (or PATH's) ``initdb`` + ``pg_ctl`` in a fresh temp folder,
listens on ``127.0.0.1`` on a free port with ``trust`` auth and ``fsync=off``, and is removed when
stopped. As root it runs as the ``postgres`` user (or ``nobody``), because PostgreSQL refuses to
run as root. Without the server binaries :class:`PostgresUnavailable` says what to install (the
fixtures turn it into a one-line test failure, never a skip).

Use from any plugin's tests (this module needs pytest; the package itself does not). In that
plugin's ``tests/conftest.py``::

    from medfusion_plugin_tracking.testing import postgres_server, postgres_url, store_url  # noqa: F401

- ``postgres_server`` (session): ``postgresql://postgres@127.0.0.1:<port>`` with no database part.
  One server per pytest process, however many conftests import the fixture; stopped at exit.
- ``postgres_url``: a fresh, empty database on that server, ``postgresql://.../<name>``.
- ``store_url``: parametrised ``sqlite`` / ``postgresql``: a SQLite file in ``tmp_path``, or a
  fresh PostgreSQL database, so that a test taking it runs once on each backend. Your plugin's
  tables can live in it next to the tracking store's (use your own Alembic ``version_table``).

Outside pytest, :func:`running_postgres` is a context manager yielding the server URL, and
:func:`new_database` makes a database on it.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

_DATABASES = itertools.count()
_SHARED: dict[str, str] = {}


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are missing or the server did not start."""


def _major(path: str) -> int:
    version = Path(path).parts[-3]  # /usr/lib/postgresql/<version>/bin/<name>
    return int(version) if version.isdigit() else 0


def pg_binary(name: str) -> str:
    """Path of the PostgreSQL program ``name``: on PATH, else the newest Debian one."""
    debian = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major)
    found = shutil.which(name) or (debian[-1] if debian else None)
    if found is None:
        raise PostgresUnavailable(
            f"PostgreSQL's {name} is not on PATH nor in /usr/lib/postgresql/*/bin: install the server "
            "(`apt-get install -y postgresql`, as .ci/run does) to run the tests on PostgreSQL"
        )
    return found


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise PostgresUnavailable(
        "running as root, and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_postgres() -> Iterator[str]:
    """Start a throwaway server; yield ``postgresql://postgres@127.0.0.1:<port>``; stop and delete it."""
    initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
    user = _server_user()
    # As root the folder must be reachable by the server's user: /tmp, not a private TMPDIR.
    root = Path(tempfile.mkdtemp(prefix="medfusion-pg-", dir="/tmp" if user is not None else None))
    if user is not None:
        shutil.chown(root, user)
    data, log = root / "data", root / "server.log"

    def run(*args: str) -> None:
        done = subprocess.run(args, user=user, capture_output=True, text=True, check=False)
        if done.returncode:
            server_log = log.read_text() if log.exists() else ""
            raise PostgresUnavailable(
                f"{' '.join(args[:2])} failed: {done.stderr.strip()} {server_log[-2000:]}"
            )

    try:
        run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
        port = _free_port()
        options = f"-k {root} -h 127.0.0.1 -p {port} -F -c fsync=off -c max_connections=200"
        run(pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start")
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
                user=user,
                capture_output=True,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


def new_database(server: str) -> str:
    """Create an empty database on ``server`` (a URL without database part); return its URL."""
    import psycopg

    name = f"medfusion_test_{os.getpid()}_{next(_DATABASES)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def _shared_server(add_cleanup: Callable[[Callable[[], object]], None]) -> str:
    """The process's one server, started on first use; ``add_cleanup`` registers its stop."""
    if "url" not in _SHARED:
        server = running_postgres()
        _SHARED["url"] = server.__enter__()

        def stop() -> None:
            _SHARED.pop("url", None)
            server.__exit__(None, None, None)

        add_cleanup(stop)
    return _SHARED["url"]


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> str:
    """``postgresql://postgres@127.0.0.1:<port>`` of the session's throwaway server (no database part)."""
    try:
        return _shared_server(request.config.add_cleanup)
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """URL of a fresh, empty database on the session's PostgreSQL server."""
    return new_database(postgres_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty store: a SQLite file, or a fresh database on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'medfusion.db'}"
    return new_database(request.getfixturevalue("postgres_server"))
