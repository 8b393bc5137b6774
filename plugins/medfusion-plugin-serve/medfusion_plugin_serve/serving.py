"""The model being served and its replacement: load and verify first, then swap.

:class:`ModelHolder` keeps the current :class:`Entry` (model, its preparer and batcher). The
initial load and each poll of the source run in worker threads; a new version is loaded and
verified (:meth:`ServedModel.verify`) before it replaces the old one. A version that fails to load
leaves the old one serving (the failure is counted and logged once; that version is not retried).
"""

from __future__ import annotations

import asyncio
import logging

import attrs

from medfusion_plugin_serve.batching import Batcher
from medfusion_plugin_serve.inputs import Limits, Preparer
from medfusion_plugin_serve.metrics import ServeMetrics
from medfusion_plugin_serve.model import ServedModel
from medfusion_plugin_serve.source import Located, ModelSource

log = logging.getLogger("medfusion.serve")


@attrs.frozen
class Settings:
    """How the server batches, polls and limits requests, and the ONNX Runtime threads of one
    model call (``0``: ONNX Runtime's default, one per core)."""

    max_batch: int = 32
    max_wait_ms: float = 5.0
    poll_s: float = 5.0
    limits: Limits = attrs.Factory(Limits)
    threads: int = 0


@attrs.frozen
class Entry:
    """A served model with what serves it."""

    key: str
    model: ServedModel
    preparer: Preparer
    batcher: Batcher


class ModelHolder:
    """The current model of one app (see the module docstring)."""

    def __init__(self, source: ModelSource, settings: Settings, metrics: ServeMetrics) -> None:
        self.source = source
        self.settings = settings
        self.metrics = metrics
        self.current: Entry | None = None
        self.status = "loading"
        self._failed: str | None = None

    async def _verified(self, located: Located) -> ServedModel:
        """The loaded and verified model; a failure is counted once per located model (a poll
        does not retry the same broken version)."""

        def load() -> ServedModel:
            model = ServedModel(located.artifact, located.label, threads=self.settings.threads)
            model.verify()
            return model

        try:
            return await asyncio.to_thread(load)
        except Exception:  # a broken file fails in onnxruntime with its own error types
            self._failed = located.key
            self.metrics.load_failures.inc()
            raise

    async def refresh(self) -> bool:
        """Ask the source for the model to serve and switch to it when it changed; whether it did.
        Errors keep the current model (or leave the server not ready) and are reported."""
        try:
            located = await asyncio.to_thread(self.source.locate)
            if located.key in (self._failed, self.current.key if self.current else None):
                return False
            model = await self._verified(located)
        except Exception as exc:  # the store (SQLAlchemy) or the file: keep serving, say why
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if self.current is None:
                self.status = message
            log.error("model not switched: %s", message)
            return False
        self._install(located, model)
        return True

    def _install(self, located: Located, model: ServedModel) -> None:
        preparer = Preparer(model, self.settings.limits)
        batcher = Batcher(
            lambda items: model.predictions(preparer.arrays(items)),
            max_batch=self.settings.max_batch,
            max_wait_s=self.settings.max_wait_ms / 1000.0,
            observe=self.metrics.observe_batch,
        )
        batcher.start()
        old, self.current = (
            self.current,
            Entry(located.key, model, preparer, batcher),
        )
        self.status = "ready"
        self.metrics.set_serving(old.model.label if old else None, model.label)
        if old is not None:
            self.metrics.switches.inc()
            old.batcher.close()
            log.info("now serving %s (was %s)", model.label, old.model.label)

    async def poll(self) -> None:
        """Refresh every ``poll_s`` seconds, forever (sources that cannot change: only until loaded)."""
        while self.source.polls or self.current is None:
            await asyncio.sleep(self.settings.poll_s)
            await self.refresh()

    async def close(self) -> None:
        """Finish the current model's requests and release the source."""
        if self.current is not None:
            self.current.batcher.close()
            await self.current.batcher.wait_closed()
        await asyncio.to_thread(self.source.close)
