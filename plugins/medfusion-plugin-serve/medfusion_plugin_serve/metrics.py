"""The server's Prometheus metrics, in a registry of its own (one per app, so that several apps in
one process never share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class ServeMetrics:
    """Requests, errors, latency, batch sizes, model calls and model switches."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "medfusion_serve_requests",
            "HTTP requests answered",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "medfusion_serve_errors",
            "Requests answered 4xx or 5xx",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "medfusion_serve_request_latency_seconds",
            "Request latency",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "medfusion_serve_batch_size",
            "Patients per model call",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.inference = Histogram(
            "medfusion_serve_inference_seconds",
            "Duration of one model call",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.switches = Counter(
            "medfusion_serve_model_switches", "Times a new model version took over", registry=self.registry
        )
        self.load_failures = Counter(
            "medfusion_serve_model_load_failures",
            "Model versions that failed to load or verify (the old one kept serving)",
            registry=self.registry,
        )
        self.serving = Gauge(
            "medfusion_serve_model", "1 for the model being served", ["model"], registry=self.registry
        )

    def observe_batch(self, size: int, seconds: float) -> None:
        """Record one model call of ``size`` patients."""
        self.batch_size.observe(size)
        self.inference.observe(seconds)

    def observe_request(self, endpoint: str, status: int, seconds: float) -> None:
        """Record one answered request."""
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)
        if status >= 400:
            self.errors.labels(endpoint, str(status)).inc()

    def set_serving(self, previous: str | None, label: str) -> None:
        """The served model changed from ``previous`` to ``label``."""
        if previous is not None:
            self.serving.remove(previous)
        self.serving.labels(label).set(1)

    def exposition(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)
