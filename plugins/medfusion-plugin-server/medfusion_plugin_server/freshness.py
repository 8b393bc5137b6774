"""Answers computed from the database and remembered until the database changes.

:class:`DataVersion` is a token that changes whenever anything commits to the database, from any
process: SQLite's ``PRAGMA data_version`` on a connection of its own that never writes (a few
microseconds, asked on the event loop), PostgreSQL's WAL insert position
(``pg_current_wal_insert_lsn()``, one round trip, asked in a worker thread). Other databases
have none, and nothing is remembered there.

:class:`AnswerCache` remembers a computed answer with the version read *before* computing it,
so that a remembered answer is never older than the database at the version it is filed under:
a commit in between changes the version and the next request computes again. Concurrent
requests for the same answer wait for one computation instead of each running it.

Two things keep it cheap under many concurrent clients (``benchmarks/api_load.py``). The version
is read once per turn of the event loop, shared by the requests handled in that turn (they are
in flight together, so none can tell it from its own read). Computations run on at most
``readers`` worker threads (default 4): with one thread per waiting request (up to anyio's 40)
they queued on the GIL, and beyond the read engine's five pooled connections each opened and
closed a SQLite connection of its own.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import anyio
from medfusion_plugin_tracking.engine import normalise_url
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool


class DataVersion:
    """The database's change token (see the module docstring)."""

    def __init__(self, url: str) -> None:
        parsed = make_url(normalise_url(url))
        self._lock = threading.Lock()
        self._sqlite: sqlite3.Connection | None = None
        self._engine = None
        #: Whether :meth:`current` is cheap enough to call on the event loop.
        self.inline = False
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            self._sqlite = sqlite3.connect(parsed.database, check_same_thread=False, isolation_level=None)
            self.inline = True
        elif parsed.get_backend_name() == "postgresql":
            self._engine = create_engine(normalise_url(url), pool_size=2, pool_pre_ping=True)

    def current(self) -> Any | None:
        """The token now (None: unknown, remember nothing)."""
        try:
            if self._sqlite is not None:
                with self._lock:
                    return self._sqlite.execute("PRAGMA data_version").fetchone()[0]
            if self._engine is not None:
                with self._engine.connect() as connection:
                    return connection.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar()
        except (sqlite3.Error, SQLAlchemyError):  # e.g. a standby in recovery: compute every time
            self.close()
            self._sqlite = self._engine = None
            self.inline = True  # nothing left to ask
            return None
        return None

    def close(self) -> None:
        """Release the connection."""
        if self._sqlite is not None:
            self._sqlite.close()
        if self._engine is not None:
            self._engine.dispose()


class AnswerCache:
    """Answers by key, each valid while :class:`DataVersion` stays where it was computed."""

    def __init__(self, version: DataVersion, size: int = 256, readers: int = 4) -> None:
        self.version = version
        self.size = size
        self._answers: OrderedDict[Hashable, tuple[Any, Any]] = OrderedDict()
        self._pending: dict[tuple[Hashable, Any], asyncio.Future[Any]] = {}
        self._readers = anyio.CapacityLimiter(readers)
        self._this_turn: list[Any] = []  # the version read in this turn of the event loop, if any

    async def _version(self) -> Any | None:
        if not self.version.inline:
            return await run_in_threadpool(self.version.current)
        if not self._this_turn:
            self._this_turn.append(self.version.current())
            asyncio.get_running_loop().call_soon(self._this_turn.clear)
        return self._this_turn[0]

    async def answer(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The remembered answer for ``key`` when the database has not changed since, else
        ``compute()`` run in a worker thread (once for all requests waiting on it)."""
        version = await self._version()
        if version is None:
            return await anyio.to_thread.run_sync(compute, limiter=self._readers)
        found = self._answers.get(key)
        if found is not None and found[0] == version:
            self._answers.move_to_end(key)
            return found[1]
        pending = self._pending.get((key, version))
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[(key, version)] = future
        try:
            value = await anyio.to_thread.run_sync(compute, limiter=self._readers)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            self._pending.pop((key, version), None)
        future.set_result(value)
        self._answers[key] = (version, value)
        self._answers.move_to_end(key)
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)
        return value
