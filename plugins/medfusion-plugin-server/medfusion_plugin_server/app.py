"""The FastAPI application: routers, error answers (one line in ``detail``), CORS (closed unless
origins are allowed), request metrics and audit, ``/metrics`` and the web app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.store import TrackingStore
from medfusion_plugin_workflows.engine import WorkflowEngine
from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.executors import LocalExecutor
from medfusion_plugin_workflows.jobs import TrainingService

from medfusion_core.errors import MedFusionError
from medfusion_plugin_server import observe, webapp
from medfusion_plugin_server.accounts import Accounts
from medfusion_plugin_server.context import AppContext
from medfusion_plugin_server.db import ServerDatabase
from medfusion_plugin_server.errors import ApiError
from medfusion_plugin_server.freshness import AnswerCache, DataVersion
from medfusion_plugin_server.ratelimit import LoginLimiter
from medfusion_plugin_server.routes_auth import router as auth_router
from medfusion_plugin_server.routes_datasets import router as datasets_router
from medfusion_plugin_server.routes_jobs import router as jobs_router
from medfusion_plugin_server.routes_models import router as models_router
from medfusion_plugin_server.routes_runs import router as runs_router
from medfusion_plugin_server.routes_streams import router as streams_router
from medfusion_plugin_server.routes_system import router as system_router
from medfusion_plugin_server.routes_workflows import router as workflows_router
from medfusion_plugin_server.security import CSRF_HEADER
from medfusion_plugin_server.settings import Settings
from medfusion_plugin_server.workflow_store import SavedWorkflows


def _status(exc: MedFusionError) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, TrackingError) and str(exc).startswith("no "):
        return 404
    if isinstance(exc, WorkflowError) and ": no " in str(exc):
        return 404
    return 422


def _validation_line(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path"))
        parts.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def make_context(settings: Settings) -> AppContext:
    """Open the database (server tables migrated), the tracking store, the workflow engine and
    the training service for ``settings``; executions and jobs of a dead server are marked
    interrupted (or re-attached) here."""
    db = ServerDatabase(settings.url)
    ctx = AppContext(
        settings=settings,
        db=db,
        accounts=Accounts(db),
        store=TrackingStore(settings.url, runs_dir=settings.runs_dir),
        limiter=LoginLimiter(settings.login_attempts, settings.login_window),
        workflows=SavedWorkflows(db),
        engine=WorkflowEngine(
            settings.url, settings.runs_dir, settings.max_parallel_nodes, nice=settings.job_nice
        ),
        jobs=TrainingService(
            settings.url, settings.runs_dir, settings.max_jobs, LocalExecutor(nice=settings.job_nice)
        ),
        answers=AnswerCache(DataVersion(settings.url)),
    )
    ctx.engine.recover()
    ctx.jobs.recover()
    return ctx


def create_app(settings: Settings, *, serve_web: bool = True) -> FastAPI:
    """The web API for ``settings`` (and the web app at ``/`` when one is installed)."""
    ctx = make_context(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.close()

    app = FastAPI(
        title="MedFusion API",
        version="0.1.0",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.context = ctx
    app.state.metrics = metrics = observe.ApiMetrics()

    @app.exception_handler(MedFusionError)
    async def medfusion_error(_request: Request, exc: MedFusionError) -> JSONResponse:
        headers = {"Retry-After": "60"} if _status(exc) == 429 else None
        return JSONResponse({"detail": str(exc)}, status_code=_status(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_line(exc)}, status_code=422)

    # a request is matched against the routes in order (no two routers share a path): the runs
    # first, as a dashboard asks for them most
    routers = (runs_router, auth_router, system_router, datasets_router, models_router)
    for router in (*routers, workflows_router, jobs_router, streams_router):
        app.include_router(router)

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return metrics.exposition()

    observe.install(app, metrics)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", CSRF_HEADER],
        )
    folder = webapp.assets_folder() if serve_web else None
    if folder is not None:
        webapp.mount(app, folder)
    return app
