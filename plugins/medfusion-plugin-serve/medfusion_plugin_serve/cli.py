"""``medfusion serve-model MODEL@alias | NAME/N | ARTIFACT_DIR``: the HTTP prediction server."""

from __future__ import annotations

from pathlib import Path

import click
from medfusion_plugin_tracking.cli_common import store_options


@click.command("serve-model")
@click.argument("target")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--max-batch", type=click.IntRange(min=1), default=32, show_default=True, help="Patients per model call."
)
@click.option(
    "--max-wait-ms",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="How long the first patient of a batch waits for more.",
)
@click.option(
    "--poll-s",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="How often the registry is asked whether the alias moved.",
)
@click.option(
    "--threads",
    help="ONNX Runtime threads of one model call (0: one per core).",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
)
@click.option("--max-image-mb", type=click.FloatRange(min=0.001), default=20.0, show_default=True)
@click.option(
    "--max-patients", type=click.IntRange(min=1), default=64, show_default=True, help="Per request."
)
@store_options
def command(
    target: str,
    host: str,
    port: int,
    max_batch: int,
    max_wait_ms: float,
    poll_s: float,
    threads: int,
    max_image_mb: float,
    max_patients: int,
    store_url: str | None,
    runs_dir: Path,
) -> None:
    """Serve an exported ONNX model over HTTP with dynamic batching.

    TARGET is a registered model (NAME@alias, NAME/N, NAME: its ONNX artifact; an alias is polled
    and a moved alias switches the served version once the new one is loaded and verified) or an
    artifact folder or .onnx file. Endpoints: POST /v1/predict (multipart, one patient),
    POST /v1/predict/batch (JSON, base64 images), GET /v1/model, /health, /ready, /metrics and
    the OpenAPI document at /openapi.json (docs at /docs).
    """
    import uvicorn

    from medfusion_plugin_serve.app import create_app
    from medfusion_plugin_serve.inputs import Limits
    from medfusion_plugin_serve.serving import Settings
    from medfusion_plugin_serve.source import open_source

    source = open_source(target, store_url, runs_dir)
    located = source.locate()
    click.echo(f"serving {located.label} ({located.artifact}) on http://{host}:{port}")
    limits = Limits(max_image_bytes=int(max_image_mb * 2**20), max_patients=max_patients)
    settings = Settings(
        max_batch=max_batch, max_wait_ms=max_wait_ms, poll_s=poll_s, limits=limits, threads=threads
    )
    uvicorn.run(
        create_app(source, settings),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )
