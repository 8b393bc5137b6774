"""Database engines for the store: URL defaults, SQLite settings, write and read engines.

SQLite (the default, one file) runs in WAL mode with a busy timeout and foreign keys on; write
transactions start with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout
instead of failing on a lock upgrade, while readers use plain deferred transactions and never
block writers. ``postgresql://`` URLs use the psycopg 3 driver.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

#: Environment variable naming the store URL (overrides the default file in the runs folder).
URI_ENV = "MEDFUSION_TRACKING_URI"
#: How long a SQLite writer waits for another writer's transaction, in milliseconds.
BUSY_TIMEOUT_MS = 60_000


def default_url(runs_dir: str | Path = "runs") -> str:
    """``$MEDFUSION_TRACKING_URI`` when set, else ``sqlite:///<runs_dir>/medfusion.db``."""
    env = os.environ.get(URI_ENV, "").strip()
    if env:
        return env
    return f"sqlite:///{Path(runs_dir).resolve() / 'medfusion.db'}"


def normalise_url(url: str) -> str:
    """The URL with the psycopg 3 driver for plain ``postgresql://`` / ``postgres://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine: Engine) -> bool:
    """Whether the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL (persistent, so only its first opener does it). Two processes
    opening a new file at once can get ``database is locked`` from the switch, which SQLite does
    not retry on the busy timeout: retry it here, within the same timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() not in ("wal", "memory"):
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by the listeners below
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _use_wal(cursor)
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def make_engines(url: str) -> tuple[Engine, Engine]:
    """``(write_engine, read_engine)`` for ``url``; the same engine twice outside SQLite."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
        return engine, engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engines = []
    for begin in ("BEGIN IMMEDIATE", "BEGIN"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", lambda connection, sql=begin: connection.exec_driver_sql(sql))
        engines.append(engine)
    return engines[0], engines[1]
