"""WebSocket streams of the tracking store and the machine: ``/api/ws/runs/{id}/metrics``
(every metric point as it is logged; the seq is the point's row id) and ``/api/ws/system``."""

from __future__ import annotations

import itertools
import time
from typing import Any

from fastapi import APIRouter, WebSocket
from medfusion_plugin_tracking.errors import TrackingError

from medfusion_plugin_server import streams, sysinfo
from medfusion_plugin_server.context import context
from medfusion_plugin_server.errors import ApiError
from medfusion_plugin_server.metric_points import points_after

router = APIRouter(prefix="/api/ws")
SYSTEM_INTERVAL = 1.0


@router.websocket("/runs/{run}/metrics")
async def run_metrics(websocket: WebSocket, run: str) -> None:
    """Metric points of a run as they are logged; ends when the run is no longer running."""
    store = context(websocket).store
    try:
        run_id = store.resolve_run(run)
    except TrackingError as exc:
        await streams.refuse(websocket, str(exc))
        return
    key = websocket.query_params.get("key")

    def fetch(after: int) -> list[streams.Event]:
        return [(point.pop("seq"), "metric", point) for point in points_after(store, run_id, after, key)]

    def finished() -> dict[str, Any] | None:
        try:
            status = store.get_run(run_id).status
        except TrackingError as exc:
            raise ApiError(404, str(exc)) from exc
        return None if status == "running" else {"status": status}

    await streams.serve(websocket, "run_metrics", fetch, finished)


@router.websocket("/system")
async def system(websocket: WebSocket) -> None:
    """A system snapshot (CPU, memory, disk, GPUs) every second."""
    runs_dir = context(websocket).settings.runs_dir
    counter = itertools.count(int(time.time() * 1000))

    def fetch(_after: int) -> list[streams.Event]:
        return [(next(counter), "system", sysinfo.snapshot(runs_dir))]

    await streams.serve(websocket, "system", fetch, lambda: None, interval=SYSTEM_INTERVAL)
