"""Dialect-aware ``INSERT ... ON CONFLICT`` for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

#: Rows per multi-row statement (keeps SQLite under its limit of bound variables).
ROWS_PER_STATEMENT = 500


def upsert(
    session: Session,
    model: Any,
    rows: list[dict[str, Any]],
    keys: list[str],
    update: list[str],
    where: Any = None,
) -> None:
    """Insert ``rows`` into ``model``'s table; on a ``keys`` conflict set the ``update`` columns.

    ``where(excluded)`` may return a condition the existing row must meet to be updated.
    An empty ``update`` keeps existing rows (``DO NOTHING``).
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        statement = dialect.insert(model).values(rows[start : start + ROWS_PER_STATEMENT])
        if not update:
            session.execute(statement.on_conflict_do_nothing(index_elements=keys))
            continue
        excluded = statement.excluded
        condition: ColumnElement[bool] | None = where(excluded) if where is not None else None
        session.execute(
            statement.on_conflict_do_update(
                index_elements=keys, set_={name: excluded[name] for name in update}, where=condition
            )
        )
