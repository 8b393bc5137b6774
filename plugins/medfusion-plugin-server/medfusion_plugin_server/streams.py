"""The WebSocket streams' shared loop: authenticate, then send ``{"seq", "type", "data"}``
messages as new events appear, resuming after ``?after=<seq>``; end with a ``{"type": "end"}``
message when the source is finished, or when the client goes away.

A source is a function ``fetch(after) -> [(seq, type, data), ...]`` (called in a worker thread)
and ``finished() -> dict | None`` (the end message's data once nothing more will come); the
streams of one source share its poller (:mod:`.feeds`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Hashable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from medfusion_plugin_server.context import context
from medfusion_plugin_server.feeds import Event, follow
from medfusion_plugin_server.security import websocket_user

__all__ = ["Event", "refuse", "serve"]
#: Close code for a refused WebSocket (RFC 6455 "policy violation").
POLICY_VIOLATION = 1008


async def _watch_disconnect(websocket: WebSocket, gone: asyncio.Event, waker: asyncio.Event) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    gone.set()
    waker.set()


async def refuse(websocket: WebSocket, reason: str) -> None:
    """Close a WebSocket before accepting it, with a one-line reason."""
    await websocket.close(code=POLICY_VIOLATION, reason=reason[:120])


async def serve(
    websocket: WebSocket,
    name: str,
    fetch: Callable[[int], list[Event]],
    finished: Callable[[], dict[str, Any] | None],
    *,
    share: Hashable | None = None,
    interval: float | None = None,
) -> None:
    """Run one stream (see the module docstring); streams of the same ``share`` key follow one
    poller (:mod:`.feeds`)."""
    if await websocket_user(websocket) is None:
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
    waker = asyncio.Event()
    gone = asyncio.Event()
    watcher = asyncio.create_task(_watch_disconnect(websocket, gone, waker))
    key = (name, share) if share is not None else None
    feed = ctx.feeds.join(key, fetch, finished, wait, after, waker)
    try:
        await follow(feed, after, websocket.send_text, waker, gone.is_set)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        ctx.feeds.leave(key, feed, waker)
        gauge.dec()
        watcher.cancel()
        with contextlib.suppress(RuntimeError):
            await websocket.close()
