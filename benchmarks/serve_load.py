"""Prediction server under load on loopback: 32 concurrent clients, each sending one patient per
request (multipart, two PNG views + clinical JSON) to ``medfusion serve-model``, with dynamic
batching (``--max-batch 32 --max-wait-ms 5``) against the same model and server as a plain
per-request loop (``--max-batch 1``: one model call per request), measured in the same run.

Each server runs in its own process (the real command); the clients run here (httpx, asyncio).
Prints p50/p99 latency and throughput of both and the throughput ratio (target >= 2x).
Bounded: ``--requests`` per client (default 20), a warm-up round first. The model is the
quickstart-style one (resnet18 + mean + concat, 64x64 views, untrained seeded weights; other
ones with ``--backbone`` and ``--size``), exported with the export plugin; ``--quick`` uses the
tiny test backbone at 32 px to check the script. How much batching gains depends on the model:
the more a model call costs beyond its arithmetic (small models, many layers), the more it gains.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "plugins" / "medfusion-plugin-serve" / "tests"))
from _report import result_line
from serve_models import build_artifacts, manifest_patients

CLIENTS = 32


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(artifact: Path, max_batch: int, max_wait_ms: float) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    command = [sys.executable, "-m", "medfusion_core", "serve-model", str(artifact), "--port", str(port)]
    command += ["--max-batch", str(max_batch), "--max-wait-ms", str(max_wait_ms)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit(f"the server ({' '.join(command)}) did not become ready")
        time.sleep(0.1)


def _form(patient: dict[str, Any]) -> dict[str, Any]:
    import base64

    files = [
        (view, (image["filename"], base64.b64decode(image["data"]), "image/png"))
        for view, image in patient["images"].items()
    ]
    return {"files": files, "data": {"clinical": json.dumps(patient["clinical"])}}


async def _load(base: str, patients: list[dict[str, Any]], per_client: int) -> tuple[list[float], float]:
    """Latencies (s) of every request and the wall time of the whole load (after a warm-up round)."""
    forms = [_form(p) for p in patients]
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)

    async def client(index: int, http: httpx.AsyncClient) -> None:
        for n in range(per_client):
            form = forms[(index * per_client + n) % len(forms)]
            start = time.perf_counter()
            response = await http.post(f"{base}/v1/predict", **form)
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:
                raise SystemExit(f"request failed: {response.status_code} {response.text}")

    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        await asyncio.gather(*(client(i, http) for i in range(CLIENTS)))  # warm-up round
        latencies.clear()
        start = time.perf_counter()
        await asyncio.gather(*(client(i, http) for i in range(CLIENTS)))
        return latencies, time.perf_counter() - start


def _measure(
    artifact: Path, patients: list[dict[str, Any]], per_client: int, **settings: Any
) -> dict[str, float]:
    server, base = _start(artifact, **settings)
    try:
        latencies, wall = asyncio.run(_load(base, patients, per_client))
        metrics = httpx.get(f"{base}/metrics").text
    finally:
        server.terminate()
        server.wait(30)
    quantiles = statistics.quantiles(latencies, n=100)
    calls = float(
        next(
            line.split()[-1]
            for line in metrics.splitlines()
            if line.startswith("medfusion_serve_batch_size_count")
        )
    )
    return {
        "p50_ms": quantiles[49] * 1e3,
        "p99_ms": quantiles[98] * 1e3,
        "throughput": len(latencies) / wall,
        "mean_batch": 2 * CLIENTS * per_client / calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=20, help="requests per client (after a warm-up round)"
    )
    parser.add_argument("--backbone", default="resnet18", help="backbone of the served model")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--quick", action="store_true", help="tiny backbone, 32 px, 4 requests per client")
    args = parser.parse_args()
    per_client = 4 if args.quick else args.requests
    backbone, size = ("tiny", 32) if args.quick else (args.backbone, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        manifest, [artifact] = build_artifacts(Path(tmp), (0,), patients=32, backbone=backbone, size=size)
        patients = [p for p in manifest_patients(manifest) if p["images"]]
        print(f"model: {backbone} + mean + concat, {size}x{size}, 2 views")
        print(f"load: {CLIENTS} clients x {per_client} requests, one patient each")
        results = {}
        for name, settings in (
            ("batched", {"max_batch": 32, "max_wait_ms": 5.0}),
            ("plain", {"max_batch": 1, "max_wait_ms": 0.0}),
        ):
            figures = results[name] = _measure(artifact, patients, per_client, **settings)
            print(
                f"{name:8s} p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
                f"{figures['throughput']:.1f} requests/s, {figures['mean_batch']:.1f} patients per model call"
            )
    ratio = results["batched"]["throughput"] / results["plain"]["throughput"]
    print(result_line("serve_batched_vs_plain_throughput_ratio", ratio, ">=", 2.0))


if __name__ == "__main__":
    main()
