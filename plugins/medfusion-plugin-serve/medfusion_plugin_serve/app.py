"""The FastAPI app of ``medfusion serve-model``: prediction endpoints (formats in
:mod:`medfusion_plugin_serve.requests`), ``/health``, ``/ready``, ``/metrics`` and ``/v1/model``.

Each request takes the model served at its start (and a lease on its batcher), prepares its
patients in a worker thread with that model's preprocessing, and awaits their rows from the
batcher; a model switch therefore never mixes two versions in one request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medfusion_plugin_serve.errors import RequestError
from medfusion_plugin_serve.inputs import PatientRequest
from medfusion_plugin_serve.metrics import ServeMetrics
from medfusion_plugin_serve.requests import (
    BATCH_SCHEMA,
    MULTIPART_SCHEMA,
    patient_from_form,
    patients_from_json,
)
from medfusion_plugin_serve.serving import Entry, ModelHolder, Settings
from medfusion_plugin_serve.source import ModelSource

PREDICTION_ENDPOINTS = ("/v1/predict", "/v1/predict/batch")
log = logging.getLogger("medfusion.serve")


def _error(exc: RequestError) -> JSONResponse:
    return JSONResponse({"error": exc.to_json()}, status_code=exc.status)


def _body(schema: dict[str, Any], media: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {media: {"schema": schema}}}}


class CountRequests:
    """ASGI middleware recording each prediction request's status and latency (a plain ASGI
    wrapper: no task or stream per request, unlike ``@app.middleware("http")``)."""

    def __init__(self, app: ASGIApp, metrics: ServeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; note the status it is answered with."""
        path = scope.get("path")
        if scope["type"] != "http" or path not in PREDICTION_ENDPOINTS:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def noting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            self.metrics.observe_request(path, status, time.perf_counter() - start)


def create_app(source: ModelSource, settings: Settings | None = None) -> FastAPI:
    """The app serving ``source``'s model; it loads (and polls) in the background once started."""
    settings = settings or Settings()
    metrics = ServeMetrics()
    holder = ModelHolder(source, settings, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async def load_then_poll() -> None:
            await holder.refresh()
            await holder.poll()

        task = asyncio.create_task(load_then_poll())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await holder.close()

    app = FastAPI(
        title="MedFusion prediction server",
        summary="Predictions of an exported MedFusion model from images and clinical values.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.holder = holder
    app.state.metrics = metrics

    app.add_middleware(CountRequests, metrics=metrics)

    @app.exception_handler(RequestError)
    async def request_error(_request: Request, exc: RequestError) -> JSONResponse:
        return _error(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": {"field": "path", "message": str(exc.detail)}}, status_code=exc.status_code
        )

    def serving() -> Entry:
        entry = holder.current
        if entry is None:
            raise RequestError(503, "model", f"not ready: {holder.status}")
        return entry

    async def predict(entry: Entry, patients: list[PatientRequest], prefix: bool) -> dict[str, Any]:
        def prepare_all() -> list[Any]:
            prepared = []
            for i, patient in enumerate(patients):
                try:
                    prepared.append(entry.preparer.prepare(patient))
                except RequestError as exc:
                    raise exc.at(f"patients[{i}]") if prefix else exc from None
            return prepared

        prepared = await run_in_threadpool(prepare_all)
        try:
            rows = await entry.batcher.submit(prepared)
        except Exception as exc:  # onnxruntime's own error types
            log.exception("model call failed")
            raise RequestError(500, "model", f"the model call failed ({type(exc).__name__})") from None
        return {
            "model": entry.model.label,
            "predictions": [
                {"patient_id": item.patient_id, **row, "warnings": item.warnings}
                for item, row in zip(prepared, rows, strict=True)
            ],
        }

    def check_length(request: Request) -> None:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > settings.limits.max_body_bytes:
            raise RequestError(
                413, "body", f"{length} bytes; a request may have {settings.limits.max_body_bytes}"
            )

    async def read_form(request: Request) -> list[PatientRequest]:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            raise RequestError(415, "body", "send multipart/form-data (JSON goes to /v1/predict/batch)")
        try:
            form = await request.form(max_files=64, max_fields=64)
        except Exception as exc:  # starlette's multipart parser raises several types
            raise RequestError(400, "body", f"unreadable multipart body ({exc})") from None
        try:
            return [await patient_from_form(form, settings.limits)]
        finally:
            await form.close()

    async def read_json(request: Request) -> list[PatientRequest]:
        return patients_from_json(await request.body(), settings.limits)

    async def handle(
        request: Request, read: Callable[[Request], Awaitable[list[PatientRequest]]], *, prefix: bool
    ) -> JSONResponse:
        """Check the size, take the served model, read the patients, predict them (the answer
        is encoded as it is: no response-model validation on the hot path)."""
        check_length(request)
        entry = serving()
        with entry.batcher.lease():
            return JSONResponse(await predict(entry, await read(request), prefix))

    @app.post(
        "/v1/predict",
        summary="Predict one patient (multipart/form-data)",
        description=(
            "One file part per image, named by its view (the artifact's image column; repeat for "
            "several images of a view; the file name's extension picks the reader), a `clinical` "
            "part with a JSON object `{column: value}` and an optional `patient_id`. Answers "
            '`{"model", "predictions": [{"patient_id", <prediction columns>, "warnings"}]}`; errors '
            'are `{"error": {"field", "message"}}` with a 4xx status.'
        ),
        openapi_extra=_body(MULTIPART_SCHEMA, "multipart/form-data"),
    )
    async def predict_one(request: Request) -> JSONResponse:
        return await handle(request, read_form, prefix=False)

    @app.post(
        "/v1/predict/batch",
        summary="Predict one or more patients (JSON, base64 images)",
        description=(
            '`{"patients": [{"patient_id", "images": {view: {"filename", "data": base64} or a list}, '
            '"clinical": {column: value}}]}`; the answer lists the predictions in request order.'
        ),
        openapi_extra=_body(BATCH_SCHEMA, "application/json"),
    )
    async def predict_batch(request: Request) -> JSONResponse:
        return await handle(request, read_json, prefix=True)

    @app.get("/health", summary="Liveness: the process answers")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", summary="Readiness: a verified model is loaded (503 until then)")
    async def ready() -> JSONResponse:
        entry = holder.current
        if entry is None:
            return JSONResponse({"ready": False, "reason": holder.status}, status_code=503)
        return JSONResponse({"ready": True, "model": entry.model.label})

    @app.get("/v1/model", summary="The served model: views, clinical columns, task")
    async def model_info() -> dict[str, Any]:
        entry = serving()
        metadata = entry.model.metadata
        return {
            "model": entry.model.label,
            "variant": entry.model.variant,
            "views": entry.preparer.view_columns,
            "max_views": entry.model.views,
            "numeric": entry.preparer.numeric,
            "categorical": {
                c: entry.preparer.tabular.categories.get(c, []) for c in entry.preparer.categorical
            },
            "task": metadata["task"],
            "image": metadata["image"],
        }

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus() -> Response:
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app
