"""Fixtures: a store URL for each backend, SQLite in a temp folder and a real PostgreSQL server.

The PostgreSQL server is started once per test session on loopback, in a fresh temp folder
(``initdb`` + ``pg_ctl``), and stopped at the end; each test gets its own database. As root, the
server runs as the ``postgres`` user (or ``nobody``), because PostgreSQL refuses to run as root.
Without the server binaries the tests fail with a message saying what to install.
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
from collections.abc import Iterator
from pathlib import Path

import pytest

_DATABASES = itertools.count()


def _major(path: str) -> int:
    version = Path(path).parts[-3]  # /usr/lib/postgresql/<version>/bin/<name>
    return int(version) if version.isdigit() else 0


def _pg_binary(name: str) -> str:
    debian = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major)
    found = shutil.which(name) or (debian[-1] if debian else None)
    if found is None:
        pytest.fail(
            f"PostgreSQL's {name} is not on PATH nor in /usr/lib/postgresql/*/bin: install the server "
            "(`apt-get install -y postgresql`, as .ci/run does) to run the store tests on PostgreSQL",
            pytrace=False,
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
    pytest.fail("running as root, and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """``postgresql://postgres@127.0.0.1:<port>`` of a throwaway server (no database part)."""
    initdb, pg_ctl = _pg_binary("initdb"), _pg_binary("pg_ctl")
    user = _server_user()
    # As root the folder must be reachable by the server's user: /tmp, not a private TMPDIR.
    root = Path(tempfile.mkdtemp(prefix="medfusion-pg-", dir="/tmp" if user is not None else None))
    if user is not None:
        shutil.chown(root, user)
    port = _free_port()
    data, log = root / "data", root / "server.log"

    def run(*args: str) -> None:
        done = subprocess.run(args, user=user, capture_output=True, text=True, check=False)
        if done.returncode:
            server_log = log.read_text() if log.exists() else ""
            pytest.fail(
                f"{' '.join(args[:2])} failed: {done.stderr.strip()} {server_log[-2000:]}", pytrace=False
            )

    run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
    options = f"-k {root} -h 127.0.0.1 -p {port} -F -c fsync=off -c max_connections=200"
    run(pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], user=user, capture_output=True, check=False
        )
        shutil.rmtree(root, ignore_errors=True)


def _new_database(server: str) -> str:
    import psycopg

    name = f"medfusion_test_{os.getpid()}_{next(_DATABASES)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty store: a SQLite file, or a fresh database on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'medfusion.db'}"
    return _new_database(request.getfixturevalue("postgres_server"))
