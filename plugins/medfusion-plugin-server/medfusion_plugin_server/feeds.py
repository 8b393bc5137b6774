"""One poller per stream source, however many WebSockets follow it.

A :class:`Feed` polls its source (``fetch(after) -> [(seq, type, data), ...]`` in a worker
thread, every ``interval`` seconds), writes each new event's message text once and keeps the
recent ones; every follower is woken when something arrives and sends what it has not seen. A
follower resuming from before what the feed holds reads that part from the source itself first.
Once the source is finished (``finished()`` returns the end message's data; asked when a poll
brought nothing, at most every :data:`FINISHED_EVERY` seconds), the feed polls once more, so
that nothing logged just before the end is lost, and ends.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Hashable
from typing import Any

from starlette.concurrency import run_in_threadpool

from medfusion_plugin_server.errors import ApiError

Event = tuple[int, str, Any]
#: How often a feed whose poll brought nothing asks whether its source has finished.
FINISHED_EVERY = 0.25
#: Events a feed keeps for late followers (older ones are read from the source).
KEEP = 20_000


def message(seq: int, kind: str, data: Any) -> str:
    """The text of one stream message."""
    return json.dumps({"seq": seq, "type": kind, "data": data}, separators=(",", ":"))


class Feed:
    """The shared poller of one source (see the module docstring)."""

    def __init__(
        self,
        fetch: Callable[[int], list[Event]],
        finished: Callable[[], dict[str, Any] | None],
        interval: float,
        after: int,
    ) -> None:
        self.fetch = fetch
        self.finished = finished
        self.interval = interval
        #: every event with a seq above ``floor`` is in ``events`` (once polled)
        self.floor = after
        self.position = after
        self.events: list[tuple[int, str]] = []
        #: ("end" or "error", data) once the source will send nothing more
        self.outcome: tuple[str, dict[str, Any]] | None = None
        self.wakers: set[asyncio.Event] = set()
        self.task: asyncio.Task[None] | None = None

    def _add(self, events: list[Event]) -> None:
        for seq, kind, data in events:
            self.events.append((seq, message(seq, kind, data)))
            self.position = seq
        if len(self.events) > KEEP:
            dropped = len(self.events) - KEEP
            self.floor = self.events[dropped - 1][0]
            del self.events[:dropped]

    def _wake(self) -> None:
        for waker in self.wakers:
            waker.set()

    async def run(self) -> None:
        """Poll until the source is finished or nobody follows."""
        asked = 0.0
        try:
            while self.wakers:
                events = await run_in_threadpool(self.fetch, self.position)
                if not events and time.monotonic() - asked >= FINISHED_EVERY:
                    asked = time.monotonic()
                    end = await run_in_threadpool(self.finished)
                    if end is not None:
                        self._add(await run_in_threadpool(self.fetch, self.position))
                        self.outcome = ("end", end)
                        return
                self._add(events)
                if events:
                    self._wake()
                await asyncio.sleep(self.interval)
        except ApiError as exc:
            self.outcome = ("error", {"message": exc.message})
        except Exception as exc:  # a broken source ends its streams with the reason, not silence
            self.outcome = ("error", {"message": f"the stream's source failed: {exc}"})
        finally:
            self._wake()

    def since(self, after: int) -> list[tuple[int, str]]:
        """Held messages with a seq above ``after`` (``after >= floor``)."""
        if not self.events or self.events[-1][0] <= after:
            return []
        low, high = 0, len(self.events)
        while low < high:  # first event above ``after``
            middle = (low + high) // 2
            if self.events[middle][0] <= after:
                low = middle + 1
            else:
                high = middle
        return self.events[low:]


class Feeds:
    """The running feeds of one app, by source key."""

    def __init__(self) -> None:
        self._feeds: dict[Hashable, Feed] = {}

    def join(
        self,
        key: Hashable | None,
        fetch: Callable[[int], list[Event]],
        finished: Callable[[], dict[str, Any] | None],
        interval: float,
        after: int,
        waker: asyncio.Event,
    ) -> Feed:
        """The feed of ``key`` (a new one when none runs or ``key`` is None: not shared),
        with ``waker`` set whenever it changes."""
        feed = self._feeds.get(key) if key is not None else None
        if feed is None or feed.task is None or feed.task.done():
            feed = Feed(fetch, finished, interval, after)
            feed.wakers.add(waker)
            feed.task = asyncio.create_task(feed.run())
            if key is not None:
                self._feeds[key] = feed
        else:
            feed.wakers.add(waker)
        return feed

    def leave(self, key: Hashable | None, feed: Feed, waker: asyncio.Event) -> None:
        """Stop following; the last follower stops the feed."""
        feed.wakers.discard(waker)
        if not feed.wakers and feed.task is not None:
            feed.task.cancel()
            if key is not None and self._feeds.get(key) is feed:
                del self._feeds[key]


async def follow(feed: Feed, after: int, send: Callable[[str], Any], waker: asyncio.Event, gone: Any) -> None:
    """Send ``feed``'s messages after ``after`` through ``send`` until it ends or ``gone()``;
    the end (or error) message comes last."""
    while not gone():
        waker.clear()
        if after < feed.floor:  # older than the feed holds: from the source
            older = await run_in_threadpool(feed.fetch, after)
            for seq, kind, data in older:
                await send(message(seq, kind, data))
                after = seq
            after = max(after, feed.floor) if not older else after
            continue
        for seq, text in feed.since(after):
            await send(text)
            after = seq
        if feed.outcome is not None and feed.position <= after:
            kind, data = feed.outcome
            await send(message(after, kind, data))
            return
        await waker.wait()
