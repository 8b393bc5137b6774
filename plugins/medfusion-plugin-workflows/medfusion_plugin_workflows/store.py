"""Reading and writing the workflow tables: executions, node attempts, the node cache, events,
training jobs and the records of datasets, checkpoints and models.

One :class:`WorkflowStore` per engine; it opens the tracking store's write/read engines on the
same URL (WAL SQLite or PostgreSQL) and migrates the plugin's tables on first use.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import Any

import sqlalchemy as sa
from medfusion_plugin_tracking.engine import make_engines

from medfusion_plugin_workflows import schema
from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.migrate import WORKFLOWS

#: States of an execution that no process works on any more.
DONE_STATES = frozenset({"finished", "failed", "cancelled", "interrupted"})
#: States of an execution or job that a live process owns.
LIVE_STATES = frozenset({"pending", "running"})
#: The record tables by what they hold.
RECORD_TABLES = {
    "datasets": schema.workflow_datasets,
    "checkpoints": schema.workflow_checkpoints,
    "models": schema.workflow_models,
}
#: Columns naming one record of an execution: a checkpoint file recorded again (a resumed
#: training rewrites ``last.pt`` in place) updates its row, so that each file is one row.
RECORD_KEYS = {"checkpoints": ("path", "role")}


def new_id() -> str:
    """A new UUID hex id."""
    return uuid.uuid4().hex


def pid_alive(host: str | None, pid: int | None) -> bool:
    """Whether process ``pid`` of this machine (``host``) still runs; another host counts as alive."""
    if pid is None:
        return False
    if host not in (None, socket.gethostname()):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


class WorkflowStore:
    """The workflow tables of the database at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.writer, self.reader = make_engines(url)
        WORKFLOWS.ensure_current(self.writer)

    def close(self) -> None:
        """Release the database connections."""
        self.writer.dispose()
        self.reader.dispose()

    # -- executions ------------------------------------------------------------------------

    def create_execution(self, document: dict[str, Any], owner: str | None, workflow_id: str | None) -> str:
        """Insert a pending execution of ``document`` and return its id."""
        eid = new_id()
        with self.writer.begin() as db:
            db.execute(
                schema.workflow_executions.insert().values(
                    id=eid,
                    workflow_id=workflow_id,
                    name=document["name"],
                    document=document,
                    state="pending",
                    owner=owner,
                    cancel_requested=False,
                    created=time.time(),
                )
            )
        return eid

    def execution_row(self, eid: str) -> dict[str, Any]:
        """The execution's row (``eid`` or a unique prefix of it); an unknown id is a one-line
        :class:`~.errors.WorkflowError`."""
        return self._by_prefix(schema.workflow_executions, eid, "execution", "see medfusion workflow status")

    def _by_prefix(self, table: sa.Table, key: str, what: str, hint: str) -> dict[str, Any]:
        with self.reader.connect() as db:
            rows = db.execute(sa.select(table).where(table.c.id.like(f"{key}%")).limit(2)).all()
        if len(rows) != 1:
            found = "no" if not rows else "more than one"
            raise WorkflowError(f"{what} {key!r}: {found} {what} has this id ({hint})")
        return _row(rows[0])

    def execution_rows(self) -> list[dict[str, Any]]:
        """Every execution's row, newest first."""
        table = schema.workflow_executions
        with self.reader.connect() as db:
            return [_row(row) for row in db.execute(sa.select(table).order_by(table.c.created.desc()))]

    def update_execution(self, eid: str, **values: Any) -> None:
        """Set columns of the execution."""
        table = schema.workflow_executions
        with self.writer.begin() as db:
            db.execute(table.update().where(table.c.id == eid).values(**values))

    def claim(self, eid: str) -> None:
        """Mark the execution running in this process (host and pid)."""
        self.update_execution(
            eid,
            state="running",
            host=socket.gethostname(),
            pid=os.getpid(),
            cancel_requested=False,
            error=None,
            started=time.time(),
            ended=None,
        )

    # -- node attempts and cache -------------------------------------------------------------

    def start_node(self, eid: str, node_id: str, kind: str, state: str, cache_key: str) -> int:
        """Insert a node attempt (``running`` or ``cached``) and return its row id."""
        with self.writer.begin() as db:
            result = db.execute(
                schema.node_executions.insert().values(
                    execution_id=eid,
                    node_id=node_id,
                    kind=kind,
                    state=state,
                    cache_key=cache_key,
                    started=time.time(),
                )
            )
            return int(result.inserted_primary_key[0])

    def end_node(self, row_id: int, state: str, outputs: Any = None, error: str | None = None) -> None:
        """Close a node attempt with its final state, outputs and error."""
        table = schema.node_executions
        with self.writer.begin() as db:
            db.execute(
                table.update()
                .where(table.c.id == row_id)
                .values(state=state, outputs=outputs, error=error, ended=time.time())
            )

    def node_rows(self, eid: str) -> list[dict[str, Any]]:
        """Every node attempt of the execution, oldest first."""
        table = schema.node_executions
        with self.reader.connect() as db:
            query = sa.select(table).where(table.c.execution_id == eid).order_by(table.c.id)
            return [_row(row) for row in db.execute(query)]

    def cached(self, cache_key: str) -> Any | None:
        """The outputs cached under ``cache_key``, or None."""
        table = schema.node_cache
        with self.reader.connect() as db:
            row = db.execute(sa.select(table.c.outputs).where(table.c.cache_key == cache_key)).first()
        return None if row is None else row[0]

    def cache(self, cache_key: str, kind: str, outputs: Any) -> None:
        """Remember ``outputs`` under ``cache_key`` (the first writer wins)."""
        table = schema.node_cache
        with self.writer.begin() as db:
            if db.execute(sa.select(table.c.cache_key).where(table.c.cache_key == cache_key)).first() is None:
                db.execute(
                    table.insert().values(
                        cache_key=cache_key, kind=kind, outputs=outputs, created=time.time()
                    )
                )

    # -- records of datasets, checkpoints and models -----------------------------------------

    def add_record(self, what: str, eid: str, attempt: int, values: dict[str, Any]) -> None:
        """Record ``what`` (``datasets``, ``checkpoints`` or ``models``) made by the node attempt
        ``attempt`` of execution ``eid``; a record with the same :data:`RECORD_KEYS` columns in the
        execution is replaced (its id and place kept)."""
        table = RECORD_TABLES[what]
        row = {"execution_id": eid, "node_execution_id": attempt, "created": time.time(), **values}
        with self.writer.begin() as db:
            found = None
            if what in RECORD_KEYS:
                same = [table.c[key] == values[key] for key in RECORD_KEYS[what]]
                found = db.execute(sa.select(table.c.id).where(table.c.execution_id == eid, *same)).first()
            if found is None:
                db.execute(table.insert().values(**row))
            else:
                db.execute(table.update().where(table.c.id == found[0]).values(**row))

    def records(self, eid: str) -> dict[str, list[dict[str, Any]]]:
        """The execution's records by ``what`` (``datasets``, ``checkpoints``, ``models``), oldest
        first, each with the ``node_id`` of its node attempt; ``created`` is when it was last
        recorded."""
        out = {}
        attempts = schema.node_executions
        with self.reader.connect() as db:
            for what, table in RECORD_TABLES.items():
                query = (
                    sa.select(table, attempts.c.node_id)
                    .join(attempts, attempts.c.id == table.c.node_execution_id)
                    .where(table.c.execution_id == eid)
                    .order_by(table.c.id)
                )
                out[what] = [_row(row) for row in db.execute(query)]
        return out

    # -- events ----------------------------------------------------------------------------

    def add_event(
        self, eid: str, kind: str, node: str | None = None, data: dict[str, Any] | None = None
    ) -> int:
        """Append an event to the execution's stream; returns its ``seq``."""
        with self.writer.begin() as db:
            result = db.execute(
                schema.events.insert().values(
                    execution_id=eid, type=kind, node=node, data=data or {}, time=time.time()
                )
            )
            return int(result.inserted_primary_key[0])

    def events(self, eid: str, after: int = 0) -> list[dict[str, Any]]:
        """The execution's events with ``seq > after``, in order."""
        table = schema.events
        with self.reader.connect() as db:
            query = (
                sa.select(table.c.seq, table.c.type, table.c.node, table.c.data, table.c.time)
                .where(table.c.execution_id == eid, table.c.seq > after)
                .order_by(table.c.seq)
            )
            return [_row(row) for row in db.execute(query)]

    # -- training jobs -----------------------------------------------------------------------

    def create_job(self, **values: Any) -> str:
        """Insert a queued training job and return its id."""
        job_id = new_id()
        with self.writer.begin() as db:
            db.execute(
                schema.training_jobs.insert().values(
                    id=job_id, state="queued", run_ids=[], created=time.time(), **values
                )
            )
        return job_id

    def job_row(self, job_id: str) -> dict[str, Any]:
        """The job's row (``job_id`` or a unique prefix); an unknown id is a one-line error."""
        return self._by_prefix(schema.training_jobs, job_id, "training job", "see the jobs list")

    def job_rows(self, state: str | None = None) -> list[dict[str, Any]]:
        """Jobs (of ``state``, when given), in queue order: priority first, then oldest."""
        table = schema.training_jobs
        query = sa.select(table).order_by(table.c.priority.desc(), table.c.created)
        if state is not None:
            query = query.where(table.c.state == state)
        with self.reader.connect() as db:
            return [_row(row) for row in db.execute(query)]

    def update_job(self, job_id: str, expect: str | None = None, **values: Any) -> bool:
        """Set columns of the job (only while its state is ``expect``, when given); returns whether
        a row changed, so that two services never both start one job."""
        table = schema.training_jobs
        query = table.update().where(table.c.id == job_id)
        if expect is not None:
            query = query.where(table.c.state == expect)
        with self.writer.begin() as db:
            return db.execute(query.values(**values)).rowcount == 1
