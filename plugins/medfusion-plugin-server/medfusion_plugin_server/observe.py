"""Request observation: Prometheus counters and latency histograms by route template, and the
audit log entry of every state-changing request (who, what, from where, the answer's status)."""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def _audit(scope: Scope, status: int) -> None:
    user = scope.get("state", {}).get("user")
    client = scope.get("client")
    entry = AuditEntry(
        time=time.time(),
        username=user["username"] if user else None,
        method=scope["method"],
        path=scope["path"],
        status=status,
        client=client[0] if client else None,
    )
    with scope["app"].state.context.db.write() as session:
        session.add(entry)


class Observer:
    """ASGI middleware that counts, times and audits every HTTP request (plain ASGI: it adds
    no task or stream per request, as Starlette's ``BaseHTTPMiddleware`` does)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, then record it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)
            if method not in SAFE_METHODS and scope["path"].startswith("/api/"):
                await run_in_threadpool(_audit, scope, status)


def install(app: FastAPI, metrics: ApiMetrics) -> None:
    """Add the middleware that counts, times and audits every request."""
    app.add_middleware(Observer, metrics=metrics)
