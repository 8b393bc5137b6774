"""Metric points of a run read by their row id, which only grows: the WebSocket stream's
sequence number (``?after=<seq>`` resumes after the last point seen)."""

from __future__ import annotations

from typing import Any

from medfusion_plugin_tracking.schema import Metric
from medfusion_plugin_tracking.store import TrackingStore
from sqlalchemy import select


def points_after(
    store: TrackingStore, run_id: str, after: int = 0, key: str | None = None, limit: int = 5000
) -> list[dict[str, Any]]:
    """Points of ``run_id`` with a sequence number above ``after``, oldest first."""
    query = select(Metric.id, Metric.key, Metric.step, Metric.timestamp, Metric.value).where(
        Metric.run_id == run_id, Metric.id > after
    )
    if key is not None:
        query = query.where(Metric.key == key)
    with store.read() as session:
        rows = session.execute(query.order_by(Metric.id).limit(limit)).all()
    return [
        {"seq": int(seq), "key": name, "step": int(step), "timestamp": float(ts), "value": value}
        for seq, name, step, ts, value in rows
    ]
