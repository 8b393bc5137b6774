"""The server's connection to the shared database (the tracking store's URL): engines for the
server tables, migrated on open, and sessions that commit on exit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from medfusion_plugin_tracking.engine import make_engines
from sqlalchemy.orm import Session

from medfusion_plugin_server.migrate import SERVER


class ServerDatabase:
    """The server tables in the database at ``url`` (SQLite or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._write_engine, self._read_engine = make_engines(url)
        SERVER.ensure_current(self._write_engine)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits on exit."""
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        with Session(self._read_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def close(self) -> None:
        """Release the connections."""
        self._write_engine.dispose()
        self._read_engine.dispose()
