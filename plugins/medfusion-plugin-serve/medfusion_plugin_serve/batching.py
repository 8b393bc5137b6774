"""Dynamic batching: concurrent requests' patients meet in one queue; a dedicated worker thread
takes up to ``max_batch`` of them, or what arrived within ``max_wait`` of the first, makes one
model call for the batch and hands every patient its own row of the result.

The worker is a plain thread, not a task of the event loop: collecting a batch, stacking its
arrays, the model call and building the answer rows never run on the loop, which only parses
requests and sends answers. A request's coroutine waits on asyncio futures that the worker
resolves with one ``call_soon_threadsafe`` per batch and loop.

One :class:`Batcher` serves one loaded model. When the served model is replaced the old batcher
is closed: what is queued is flushed at once (no more waiting), requests that already hold the old
model (see :meth:`Batcher.lease`) still finish on it, and the worker stops when the last has.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from medfusion_plugin_serve.inputs import Prepared

BatchObserver = Callable[[int, float], None]
#: One model call: the prediction row of each prepared patient.
BatchPredictor = Callable[[list[Prepared]], list[dict[str, Any]]]
#: A queued patient: its inputs, the future its row goes to and that future's loop.
_Queued = tuple[Prepared, "asyncio.Future[dict[str, Any]]", asyncio.AbstractEventLoop]


class Batcher:
    """The batching worker of one model (start it with :meth:`start`)."""

    def __init__(
        self,
        predict: BatchPredictor,
        *,
        max_batch: int,
        max_wait_s: float,
        observe: BatchObserver | None = None,
        name: str = "medfusion-infer",
    ) -> None:
        self.predict = predict
        self.max_batch = max(1, max_batch)
        self.max_wait_s = max(0.0, max_wait_s)
        self.observe = observe
        #: Requests holding a lease (see :meth:`lease`).
        self.active = 0
        self.closed = False
        self._queue: deque[_Queued] = deque()
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)

    @property
    def pending(self) -> int:
        """Patients submitted and not yet handed to the model."""
        return len(self._queue)

    @property
    def stopped(self) -> bool:
        """Whether the worker has finished (after :meth:`close` and the last lease)."""
        return self._thread.ident is not None and not self._thread.is_alive()

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    @contextmanager
    def lease(self) -> Iterator[Batcher]:
        """Hold this batcher for one request: a closed batcher keeps working until every lease
        taken before the close is released."""
        with self._ready:
            self.active += 1
        try:
            yield self
        finally:
            with self._ready:
                self.active -= 1
                self._ready.notify()

    async def submit(self, items: list[Prepared]) -> list[dict[str, Any]]:
        """The prediction of each prepared patient, in order (they may share model calls with
        other requests' patients)."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in items]
        with self._ready:
            was_empty = not self._queue
            self._queue.extend((item, future, loop) for item, future in zip(items, futures, strict=True))
            # wake the worker only when it may act: a batch begins or is full
            if was_empty or len(self._queue) >= self.max_batch:
                self._ready.notify()
        return list(await asyncio.gather(*futures))

    def close(self) -> None:
        """Stop waiting for fuller batches; stop the worker once the leases are released."""
        with self._ready:
            self.closed = True
            self._ready.notify()

    async def wait_closed(self) -> None:
        """Wait until the worker has stopped (after :meth:`close`)."""
        if self._thread.ident is not None:
            await asyncio.to_thread(self._thread.join)

    def _work(self) -> None:
        while (batch := self._collect()) is not None:
            self._run(batch)

    def _collect(self) -> list[_Queued] | None:
        """The next batch: wait for a first patient, then up to ``max_wait`` for more (no wait
        once closed); ``None`` when closed with no lease and nothing queued."""
        with self._ready:
            while not self._queue:
                if self.closed and self.active == 0:
                    return None
                self._ready.wait()
            deadline = time.monotonic() + self.max_wait_s
            while len(self._queue) < self.max_batch and not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._ready.wait(remaining)
            return [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]

    def _run(self, batch: list[_Queued]) -> None:
        """One model call for ``batch``; each future gets its row (or the call's exception)."""
        start = time.perf_counter()
        try:
            rows: list[Any] = self.predict([item for item, _, _ in batch])
        except Exception as exc:  # onnxruntime's own error types: each request reports it
            outcome: list[tuple[Any, bool]] = [(exc, False)] * len(batch)
        else:
            if self.observe is not None:
                self.observe(len(batch), time.perf_counter() - start)
            outcome = [(row, True) for row in rows]
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, bool]]] = {}
        for (_, future, loop), (value, ok) in zip(batch, outcome, strict=True):
            by_loop.setdefault(loop, []).append((future, value, ok))
        for loop, results in by_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver, results)
            except RuntimeError:  # that loop has closed: nobody waits for these rows any more
                continue


def _deliver(results: list[tuple[asyncio.Future[Any], Any, bool]]) -> None:
    """Resolve futures on their loop (skipping requests that went away)."""
    for future, value, ok in results:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
