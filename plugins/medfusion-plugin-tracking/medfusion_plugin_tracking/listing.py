"""Reading runs for listing: the run query and its rows turned into :class:`RunInfo` records.

A listing touches the ``runs`` rows the filter matched and, for those runs only, their rows of
``params``, ``tags`` and ``latest_metrics`` (primary-key lookups, one statement per table per
500 runs); never the metric points (``EXPLAIN QUERY PLAN``: index searches of ``latest_metrics``
by ``(key, value)`` and ``(run_id, key)``, no scan), so its time does not grow with the points
logged. What it costs is Python: building the statement and turning rows into records. So the
filtered query is built once per distinct arguments, and the rows go through Core statements
fetched at once, not the ORM (``benchmarks/tracking.py``'s listing, 98 of 200 runs: 7-8 ms of
CPU through the ORM with a new statement per call, 3.4-4.5 ms so, on a loaded machine).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select

from medfusion_plugin_tracking.ordering import order_clauses
from medfusion_plugin_tracking.records import RunInfo
from medfusion_plugin_tracking.schema import Experiment, LatestMetric, Param, Run, Tag
from medfusion_plugin_tracking.search import apply_filter

#: The columns of a listed run, in :class:`RunInfo`'s order up to ``parent_run_id``.
_COLUMNS = (
    Run.id,
    Run.name,
    Experiment.name.label("experiment"),
    Run.status,
    Run.start_time,
    Run.end_time,
    Run.run_dir,
    Run.data_fingerprint,
    Run.lineage,
    Run.parent_run_id,
)
#: How many run ids go into one ``IN (...)`` (well under every backend's bound-parameter limit).
CHUNK = 500


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


def _key_value_statement(table: Any) -> Select[Any]:
    """``run_id, key, value`` of ``table`` for the run ids bound as ``ids``, in key order (the
    primary-key index's order: no sort)."""
    columns = table.__table__.c
    return (
        select(columns.run_id, columns.key, columns.value)
        .where(columns.run_id.in_(bindparam("ids", expanding=True)))
        .order_by(columns.run_id, columns.key)
    )


#: One prepared statement per table: the ids are bound at execution, not coerced one by one
#: into a new statement for every listing.
_KEY_VALUES = {table: _key_value_statement(table) for table in (Param, Tag, LatestMetric)}


def _key_values(connection: Connection, table: Any, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``{run_id: {key: value}}`` of ``table`` (params, tags or latest_metrics) for ``ids``, keys
    in sorted order."""
    found: dict[str, dict[str, Any]] = {run_id: {} for run_id in ids}
    for start in range(0, len(ids), CHUNK):
        rows = connection.execute(_KEY_VALUES[table], {"ids": ids[start : start + CHUNK]}).all()
        for run_id, key, value in rows:
            found[run_id][key] = value
    return found


def run_infos(connection: Connection, query: Select[Any]) -> list[RunInfo]:
    """The runs ``query`` (a refined :func:`runs_query`) returns, with their params, tags and
    latest metric values, in the query's order."""
    rows = connection.execute(query).all()
    ids = [row[0] for row in rows]
    params, tags, metrics = (_key_values(connection, table, ids) for table in (Param, Tag, LatestMetric))
    return [
        RunInfo(
            *row[:8],
            dict(row[8] or {}),
            row[9],
            params=params[row[0]],
            metrics=metrics[row[0]],
            tags=tags[row[0]],
        )
        for row in rows
    ]
