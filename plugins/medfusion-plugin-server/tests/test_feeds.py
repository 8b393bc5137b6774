"""The shared stream poller on a scripted source: every follower gets every event once and in
order, whatever seq it resumes from; one poller serves them all; the end comes last and nothing
logged just before it is lost; old events a feed no longer holds come from the source."""

from __future__ import annotations

import asyncio
import json

import pytest
from medfusion_plugin_server import feeds


class Source:
    """Events 1..n appearing ``per_poll`` at a time; finished once all have appeared."""

    def __init__(self, total: int, per_poll: int = 2) -> None:
        self.total, self.per_poll = total, per_poll
        self.appeared = 0
        self.fetches = 0

    def fetch(self, after: int) -> list[feeds.Event]:
        self.fetches += 1
        self.appeared = min(self.total, self.appeared + self.per_poll)
        return [(seq, "metric", {"step": seq}) for seq in range(after + 1, self.appeared + 1)]

    def finished(self) -> dict | None:
        # the last events appear between this answer and the feed's final poll
        return {"status": "finished"} if self.appeared >= self.total - self.per_poll else None


async def _follow(registry: feeds.Feeds, source: Source, after: int, key: object = "run") -> list[dict]:
    got: list[dict] = []
    waker = asyncio.Event()
    feed = registry.join(key, source.fetch, source.finished, 0.001, after, waker)

    async def send(text: str) -> None:
        got.append(json.loads(text))

    try:
        await asyncio.wait_for(feeds.follow(feed, after, send, waker, lambda: False), timeout=30)
    finally:
        registry.leave(key, feed, waker)
    return got


def test_followers_share_one_poller_and_get_everything_once() -> None:
    source = Source(total=40)

    async def three() -> list[list[dict]]:
        registry = feeds.Feeds()
        return await asyncio.gather(*(_follow(registry, source, after) for after in (0, 0, 5)))

    results = asyncio.run(three())
    for after, messages in zip((0, 0, 5), results, strict=True):
        assert [m["seq"] for m in messages[:-1]] == list(range(after + 1, 41))
        assert messages[-1] == {"seq": 40, "type": "end", "data": {"status": "finished"}}
    assert source.fetches < 2 * 40 // source.per_poll  # one poller, not one per follower


def test_a_late_follower_reads_what_the_feed_dropped_from_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "KEEP", 5)
    source = Source(total=30, per_poll=3)

    async def early_and_late() -> tuple[list[dict], list[dict]]:
        registry = feeds.Feeds()
        early = asyncio.create_task(_follow(registry, source, 0))
        while source.appeared < 20:
            await asyncio.sleep(0.001)
        late = await _follow(registry, source, 0)
        return await early, late

    early, late = asyncio.run(early_and_late())
    for messages in (early, late):
        assert [m["seq"] for m in messages[:-1]] == list(range(1, 31))
        assert messages[-1]["type"] == "end"


def test_a_failing_source_ends_its_streams_with_the_reason() -> None:
    def broken(_after: int) -> list[feeds.Event]:
        raise RuntimeError("database gone")

    async def one() -> list[dict]:
        registry = feeds.Feeds()
        waker = asyncio.Event()
        feed = registry.join(None, broken, lambda: None, 0.001, 0, waker)
        got: list[dict] = []

        async def send(text: str) -> None:
            got.append(json.loads(text))

        await asyncio.wait_for(feeds.follow(feed, 0, send, waker, lambda: False), timeout=30)
        registry.leave(None, feed, waker)
        return got

    assert asyncio.run(one()) == [
        {"seq": 0, "type": "error", "data": {"message": "the stream's source failed: database gone"}}
    ]
