"""WebSocket streams: ``/api/ws/runs/{id}/metrics`` (every metric point as it is logged; the seq
is the point's row id), ``/api/ws/executions/{id}`` (the engine's persisted events),
``/api/ws/jobs/{id}/log`` (the log as it grows; the seq is the byte offset) and ``/api/ws/system``."""

from __future__ import annotations

import itertools
import time
from typing import Any

from fastapi import APIRouter, WebSocket
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.store import DONE_STATES

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

    await streams.serve(websocket, "run_metrics", fetch, finished, share=(run_id, key))


@router.websocket("/system")
async def system(websocket: WebSocket) -> None:
    """A system snapshot (CPU, memory, disk, GPUs) every second."""
    runs_dir = context(websocket).settings.runs_dir
    counter = itertools.count(int(time.time() * 1000))

    def fetch(_after: int) -> list[streams.Event]:
        return [(next(counter), "system", sysinfo.snapshot(runs_dir))]

    await streams.serve(websocket, "system", fetch, lambda: None, interval=SYSTEM_INTERVAL)


@router.websocket("/executions/{eid}")
async def execution(websocket: WebSocket, eid: str) -> None:
    """An execution's events (node started, finished, failed, ...); ends with its final state."""
    engine = context(websocket).engine
    try:
        eid = engine.execution(eid)["id"]
    except WorkflowError as exc:
        await streams.refuse(websocket, str(exc))
        return

    def fetch(after: int) -> list[streams.Event]:
        return [
            (
                event["seq"],
                event["type"],
                {"node": event["node"], "time": event["time"], **(event["data"] or {})},
            )
            for event in engine.events(eid, after)
        ]

    def finished() -> dict[str, Any] | None:
        state = engine.execution(eid)["state"]
        return {"state": state} if state in DONE_STATES else None

    await streams.serve(websocket, "execution", fetch, finished, share=eid)


@router.websocket("/jobs/{job_id}/log")
async def job_log(websocket: WebSocket, job_id: str) -> None:
    """A training job's log as it is written; ends when the job has ended."""
    service = context(websocket).jobs
    try:
        service.job(job_id)
    except WorkflowError as exc:
        await streams.refuse(websocket, str(exc))
        return

    def fetch(after: int) -> list[streams.Event]:
        text, offset = service.log(job_id, after)
        return [(offset, "log", {"text": text})] if text else []

    def finished() -> dict[str, Any] | None:
        state = service.job(job_id)["state"]
        return {"state": state} if state in DONE_STATES else None

    await streams.serve(websocket, "job_log", fetch, finished)
