"""Dynamic batching: concurrent requests' patients meet in one asyncio queue; a worker takes up
to ``max_batch`` of them, or what arrived within ``max_wait`` of the first, makes one model call
for the batch and hands every patient its own row of the result.

One :class:`Batcher` serves one loaded model. When the served model is replaced the old batcher
is closed: what is queued is flushed at once (no more waiting), requests that already hold the old
model (see :meth:`Batcher.lease`) still finish on it, and the worker stops when the last has.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

from medfusion_plugin_serve.inputs import Prepared

#: Queue entry that ends waiting for a fuller batch (sent on close and on each release after it).
_FLUSH = None

BatchObserver = Callable[[int, float], None]
#: One model call: the prediction row of each prepared patient.
BatchPredictor = Callable[[list[Prepared]], list[dict[str, Any]]]


class Batcher:
    """The batching worker of one model (start it with :meth:`start` inside the event loop)."""

    def __init__(
        self,
        predict: BatchPredictor,
        *,
        max_batch: int,
        max_wait_s: float,
        executor: Executor,
        observe: BatchObserver | None = None,
    ) -> None:
        self.predict = predict
        self.max_batch = max(1, max_batch)
        self.max_wait_s = max(0.0, max_wait_s)
        self.executor = executor
        self.observe = observe
        self.active = 0
        #: Patients submitted and not yet handed to the model (queued or collecting a batch).
        self.pending = 0
        self.closed = False
        self._queue: asyncio.Queue[tuple[Prepared, asyncio.Future[dict[str, Any]]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the worker task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._work())

    @contextmanager
    def lease(self) -> Iterator[Batcher]:
        """Hold this batcher for one request: a closed batcher keeps working until every lease
        taken before the close is released."""
        self.active += 1
        try:
            yield self
        finally:
            self.active -= 1
            if self.closed:
                self._queue.put_nowait(_FLUSH)

    async def submit(self, items: list[Prepared]) -> list[dict[str, Any]]:
        """The prediction of each prepared patient, in order (they may share model calls with
        other requests' patients)."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in items]
        for item, future in zip(items, futures, strict=True):
            self._queue.put_nowait((item, future))
        self.pending += len(items)
        return list(await asyncio.gather(*futures))

    def close(self) -> None:
        """Stop taking new batches once the requests holding a lease are done."""
        self.closed = True
        self._queue.put_nowait(_FLUSH)

    async def wait_closed(self) -> None:
        """Wait until the worker has stopped (after :meth:`close`)."""
        if self._task is not None:
            await self._task

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._queue.get()
            if first is _FLUSH:
                if self.closed and self.active == 0 and self._queue.empty():
                    return
                continue
            batch = [first]
            deadline = loop.time() + self.max_wait_s
            while len(batch) < self.max_batch:
                entry = await self._next(deadline - loop.time())
                if entry is _FLUSH:
                    break
                batch.append(entry)
            await self._run(batch)

    async def _next(self, timeout: float) -> tuple[Prepared, asyncio.Future[dict[str, Any]]] | None:
        """The next queued entry, waiting at most ``timeout`` seconds (``None``: none came)."""
        if self._queue.qsize() or timeout <= 0:
            try:
                return self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def _run(self, batch: list[tuple[Prepared, asyncio.Future[dict[str, Any]]]]) -> None:
        """One model call for ``batch``; each future gets its row (or the call's exception)."""
        items = [item for item, _ in batch]
        self.pending -= len(items)
        start = time.perf_counter()
        try:
            rows = await asyncio.get_running_loop().run_in_executor(self.executor, self.predict, items)
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        if self.observe is not None:
            self.observe(len(batch), time.perf_counter() - start)
        for (_, future), row in zip(batch, rows, strict=True):
            if not future.done():
                future.set_result(row)
