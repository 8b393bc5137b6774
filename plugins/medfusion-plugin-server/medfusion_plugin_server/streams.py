"""The WebSocket streams' shared loop: authenticate, then send ``{"seq", "type", "data"}``
messages as new events appear, resuming after ``?after=<seq>``; end with a ``{"type": "end"}``
message when the source is finished, or when the client goes away.

A source is a function ``fetch(after) -> [(seq, type, data), ...]`` (called in a worker thread)
and ``finished() -> dict | None`` (the end message's data once nothing more will come).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from medfusion_plugin_server.context import context
from medfusion_plugin_server.errors import ApiError
from medfusion_plugin_server.security import websocket_user

Event = tuple[int, str, Any]
#: Close code for a refused WebSocket (RFC 6455 "policy violation").
POLICY_VIOLATION = 1008


async def _watch_disconnect(websocket: WebSocket, gone: asyncio.Event) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    gone.set()


async def refuse(websocket: WebSocket, reason: str) -> None:
    """Close a WebSocket before accepting it, with a one-line reason."""
    await websocket.close(code=POLICY_VIOLATION, reason=reason[:120])


async def serve(
    websocket: WebSocket,
    name: str,
    fetch: Callable[[int], list[Event]],
    finished: Callable[[], dict[str, Any] | None],
    *,
    interval: float | None = None,
) -> None:
    """Run one stream (see the module docstring)."""
    if websocket_user(websocket) is None:
        await refuse(websocket, "not logged in: send the session cookie or ?token=<bearer token>")
        return
    try:
        after = int(websocket.query_params.get("after", "0"))
    except ValueError:
        await refuse(websocket, "after: must be an integer (the last seq seen)")
        return
    ctx = context(websocket)
    wait = interval if interval is not None else ctx.settings.poll_seconds
    gauge = websocket.app.state.metrics.websockets.labels(name)
    await websocket.accept()
    gauge.inc()
    gone = asyncio.Event()
    watcher = asyncio.create_task(_watch_disconnect(websocket, gone))
    try:
        while not gone.is_set():
            try:
                events = await run_in_threadpool(fetch, after)
                end = None if events else await run_in_threadpool(finished)
            except ApiError as exc:
                await websocket.send_json({"seq": after, "type": "error", "data": {"message": exc.message}})
                break
            for seq, kind, data in events:
                await websocket.send_json({"seq": seq, "type": kind, "data": data})
                after = seq
            if end is not None:
                await websocket.send_json({"seq": after, "type": "end", "data": end})
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(gone.wait(), timeout=wait)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        gauge.dec()
        watcher.cancel()
        with contextlib.suppress(RuntimeError):
            await websocket.close()
