"""``order_by`` terms of a run search: ``"metrics.val_auroc desc"``, ``"name"``, ``"start_time asc"``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import aliased

from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.schema import Experiment, LatestMetric, Run

_COLUMNS = {
    "name": Run.name,
    "status": Run.status,
    "experiment": Experiment.name,
    "start_time": Run.start_time,
    "end_time": Run.end_time,
}


def order_clauses(query: Select[Any], order_by: Sequence[str]) -> Select[Any]:
    """``query`` ordered by the terms (runs without a metric come last); newest first by default."""
    for term in order_by:
        field, _, direction = term.strip().partition(" ")
        direction = direction.strip().lower() or "asc"
        if direction not in ("asc", "desc"):
            raise TrackingError(f"order by {term!r}: the direction is asc or desc")
        if field.startswith("metrics.") and len(field) > len("metrics."):
            latest = aliased(LatestMetric)
            query = query.outerjoin(
                latest, (latest.run_id == Run.id) & (latest.key == field[len("metrics.") :])
            )
            column: Any = latest.value
        elif field in _COLUMNS:
            column = _COLUMNS[field]
        else:
            raise TrackingError(f"order by {field!r}: use metrics.<key>, {', '.join(_COLUMNS)}")
        query = query.order_by(
            column.desc().nulls_last() if direction == "desc" else column.asc().nulls_last()
        )
    return query.order_by(Run.start_time.desc(), Run.id)
