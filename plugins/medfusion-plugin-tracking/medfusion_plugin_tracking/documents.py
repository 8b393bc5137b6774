"""A run's documents: its params, tags and latest metric values as one JSON object each
(``{key: value}``, keys sorted) on its ``runs`` row, so that a listing reads one row per run.

The tables ``params``, ``tags`` and ``latest_metrics`` stay the truth (filters and sorts run on
them through their indexes); each transaction that changes a run's rows of one of them rewrites the
run's document of that table from those rows, in the same transaction. Written in Python
(``json.dumps``: the shortest repr that reads back as the same float) because SQLite cannot write
them exactly at query time: its ``json_group_object`` writes a REAL with 15 significant digits
(``1/3`` comes back as ``0.333333333333333``), ``quote()`` misses on some values (228 of 1.5
million random doubles read back different) and the exact ``printf('%!.20e')`` costs about as much
per value as fetching the rows. On PostgreSQL a writer first locks the run's row (``FOR NO KEY
UPDATE``: model versions may still reference the run meanwhile) so that two transactions changing
one run take turns and each rewrites the documents from the other's committed rows; SQLite's
writers take turns already (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from medfusion_plugin_tracking.schema import LatestMetric, Param, Run, Tag

#: The ``runs`` column holding each table's document.
COLUMNS: dict[Any, str] = {Param: "params_json", Tag: "tags_json", LatestMetric: "metrics_json"}

_LOCK = select(Run.id).where(Run.id == bindparam("run_id")).with_for_update(key_share=True)
_ROWS = {
    table: select(table.key, table.value).where(table.run_id == bindparam("run_id")) for table in COLUMNS
}
_WRITE = {
    table: update(Run.__table__)
    .where(Run.__table__.c.id == bindparam("run_id"))
    # the bound value is named after the column it sets: "document" would clash with nothing, but
    # a name differing from the column keeps SQLAlchemy from reading it as the column's own value
    .values({column: bindparam("document")})
    for table, column in COLUMNS.items()
}


def encode(values: Mapping[str, Any]) -> str:
    """The document of ``{key: value}`` (compact JSON, keys sorted; floats read back exactly)."""
    return json.dumps(dict(values), sort_keys=True, separators=(",", ":"))


def lock_run(session: Session, run_id: str) -> None:
    """Hold the run's row until the transaction ends (PostgreSQL; a no-op on SQLite, whose
    write transactions hold the database's write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK, {"run_id": run_id})


def rewrite(session: Session, run_id: str, table: Any) -> None:
    """Rewrite the run's document of ``table`` (:class:`Param`, :class:`Tag` or
    :class:`LatestMetric`) from the table's rows, in the session's transaction."""
    connection = session.connection()  # Core statements: no ORM work per execution
    rows = connection.execute(_ROWS[table], {"run_id": run_id}).all()
    connection.execute(_WRITE[table], {"run_id": run_id, "document": encode(dict(rows))})
