"""Request observation: Prometheus counters and latency histograms by route template, and the
audit log entry of every state-changing request (who, what, from where, the answer's status)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.concurrency import run_in_threadpool

from medfusion_plugin_server.context import context
from medfusion_plugin_server.schema import AuditEntry
from medfusion_plugin_server.security import SAFE_METHODS


class ApiMetrics:
    """The server's Prometheus metrics, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "medfusion_http_requests_total",
            "HTTP requests answered, by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "medfusion_http_request_seconds",
            "HTTP request latency by method and route.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.websockets = Gauge(
            "medfusion_websockets_open", "Open WebSocket streams.", ["stream"], registry=self.registry
        )

    def exposition(self) -> Response:
        """The ``/metrics`` answer in the Prometheus text format."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _audit(request: Request, status: int) -> None:
    user = getattr(request.state, "user", None)
    entry = AuditEntry(
        time=time.time(),
        username=user["username"] if user else None,
        method=request.method,
        path=request.url.path,
        status=status,
        client=request.client.host if request.client else None,
    )
    with context(request).db.write() as session:
        session.add(entry)


def install(app: FastAPI, metrics: ApiMetrics) -> None:
    """Add the middleware that counts, times and audits every request."""

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(request.method, route).observe(time.perf_counter() - start)
        if request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
            await run_in_threadpool(_audit, request, response.status_code)
        return response
