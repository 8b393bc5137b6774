"""Reading runs for listing: one row per run, on the driver's own cursor.

A listing reads the ``runs`` rows the filter matched, each carrying its params, tags and latest
metric values as JSON documents (:mod:`~medfusion_plugin_tracking.documents`). The filter and the
order are SQL on ``latest_metrics``, ``params`` and ``tags`` through their indexes (``EXPLAIN
QUERY PLAN``: index searches of ``latest_metrics`` by ``(key, value)`` and ``(run_id, key)``, no
scan), never on the metric points, so its time does not grow with the points logged. What it cost
was turning rows into Python objects: ``benchmarks/tracking.py``'s listing (98 of 200 runs) fetched
about 2,900 param and metric rows, and SQLAlchemy's result handling of them took more time than
SQLite's query. So the statement is built and compiled once per distinct arguments
(:func:`search_query`, :func:`compiled`), runs on the DBAPI cursor of a pooled connection, and
returns one row per run: its columns and one JSON array of its lineage and documents, joined by
SQL and decoded by one call of the JSON decoder (four ``json.loads`` a run cost twice as much).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Dialect, Engine, Select, Text, cast, func, literal_column, select

from medfusion_plugin_tracking.ordering import order_clauses
from medfusion_plugin_tracking.records import RunInfo
from medfusion_plugin_tracking.schema import Experiment, Run
from medfusion_plugin_tracking.search import apply_filter


def _text(sql: str) -> ColumnElement[str]:
    """A constant string in the SQL itself (not a bound parameter)."""
    return literal_column(f"'{sql}'", Text)


#: ``[lineage, params, tags, metrics]`` of a run as one JSON text.
_DOCUMENT = (
    _text("[")
    + func.coalesce(cast(Run.lineage, Text), _text("{}"))
    + _text(",")
    + Run.params_json
    + _text(",")
    + Run.tags_json
    + _text(",")
    + Run.metrics_json
    + _text("]")
)
#: The columns of a listed run: :class:`RunInfo`'s up to ``data_fingerprint``, ``parent_run_id``
#: and :data:`_DOCUMENT`.
_COLUMNS = (
    Run.id,
    Run.name,
    Experiment.name.label("experiment"),
    Run.status,
    Run.start_time,
    Run.end_time,
    Run.run_dir,
    Run.data_fingerprint,
    Run.parent_run_id,
    _DOCUMENT.label("document"),
)
_DECODE = json.JSONDecoder().raw_decode
#: ``fetch(query, **values)``: the rows of a compiled query, values bound to its named parameters.
Fetch = Callable[..., list[tuple[Any, ...]]]


def runs_query() -> Select[Any]:
    """``SELECT`` of the listed columns of runs joined with their experiment, for the filter
    (:mod:`~medfusion_plugin_tracking.search`) and the order (:mod:`~medfusion_plugin_tracking.ordering`)
    to refine."""
    return select(*_COLUMNS).join(Experiment, Run.experiment_id == Experiment.id)


@functools.lru_cache(maxsize=256)
def search_query(
    filter: str, experiment: str | None, status: str | None, order_by: tuple[str, ...], limit: int | None
) -> Select[Any]:
    """The query of :meth:`TrackingStore.search_runs`, built once per distinct arguments (building
    the statement cost as much as running it; a dashboard repeats the same listing)."""
    query = apply_filter(runs_query(), filter)
    if experiment is not None:
        query = query.where(Experiment.name == experiment)
    if status is not None:
        query = query.where(Run.status == status)
    query = order_clauses(query, order_by)
    return query.limit(limit) if limit is not None else query


@dataclass(frozen=True)
class Compiled:
    """A statement as its driver takes it: SQL text in the driver's parameter style, the values
    bound when it was built, and for positional styles the order of the parameter names."""

    sql: str
    values: Mapping[str, Any]
    order: tuple[str, ...] | None

    def arguments(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        """The driver's parameters: the built-in values updated with ``values``."""
        merged = {**self.values, **values} if values else self.values
        return merged if self.order is None else tuple(merged[name] for name in self.order)


@functools.lru_cache(maxsize=256)
def compiled(query: Select[Any], dialect: Dialect) -> Compiled:
    """``query`` compiled for ``dialect`` once (queries come from :func:`search_query`'s cache or
    module constants, so the same objects recur)."""
    result = query.compile(dialect=dialect)
    order = tuple(result.positiontup or ()) if result.positional else None
    return Compiled(result.string, dict(result.params), order)


@contextmanager
def reading(engine: Engine) -> Iterator[Fetch]:
    """A :data:`Fetch` on one pooled DBAPI connection of ``engine`` (returned to the pool, its
    transaction rolled back, on exit)."""
    connection = engine.raw_connection()
    try:

        def fetch(query: Select[Any], **values: Any) -> list[tuple[Any, ...]]:
            statement = compiled(query, engine.dialect)
            cursor = connection.cursor()
            try:
                cursor.execute(statement.sql, statement.arguments(values))
                return cursor.fetchall()
            finally:
                cursor.close()

        yield fetch
    finally:
        connection.close()


def _run_info(row: tuple[Any, ...]) -> RunInfo:
    lineage, params, tags, metrics = _DECODE(row[9])[0]
    return RunInfo(*row[:8], lineage or {}, row[8], params=params, metrics=metrics, tags=tags)


def run_infos(rows: Sequence[tuple[Any, ...]]) -> list[RunInfo]:
    """:class:`RunInfo` records of rows of :func:`runs_query`'s columns, in their order."""
    return [_run_info(row) for row in rows]


def json_bytes(content: Any) -> bytes:
    """Compact UTF-8 JSON of plain data, as an HTTP answer carries it (no NaN: not JSON)."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class RunJsonMemo:
    """Listed runs as one JSON array of their :meth:`RunInfo.to_dict`, each run's JSON remembered
    by its row. A dashboard lists the same runs again whenever anything changed, usually one live
    run: decoding the unchanged rows and encoding them again took three quarters of the web API's
    listing (``benchmarks/api_load.py``), and a row that reads the same gives the same JSON."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._fragments: dict[tuple[Any, ...], bytes] = {}

    def array(self, rows: Sequence[tuple[Any, ...]]) -> bytes:
        """The JSON array of the runs of ``rows`` (:func:`runs_query`'s columns), in their order."""
        parts = []
        for row in rows:
            fragment = self._fragments.get(row)
            if fragment is None:
                if len(self._fragments) >= self.size:  # whole generations: no bookkeeping per hit
                    self._fragments.clear()
                fragment = self._fragments[row] = json_bytes(_run_info(row).to_dict())
            parts.append(fragment)
        return b"[" + b",".join(parts) + b"]"
