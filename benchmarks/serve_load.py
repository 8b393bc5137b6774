"""Prediction server under load on loopback: dynamic batching against a plain per-request loop.

Two ``medfusion serve-model`` processes serve the same exported model with the same ONNX Runtime
threads (``--threads``, default 2: the CI machine's cores): one batching (``--max-batch 32
--max-wait-ms 5``), one plain (``--max-batch 1``: one model call per request). Both are the real
command; they are measured in alternating rounds in the same run (the idle one's threads sleep:
the server's ONNX Runtime pool does not spin), so both see the same background load.

Load model: closed loop, 32 concurrent clients, no think time. Each client holds one keep-alive
HTTP/1.1 connection and sends its next request as soon as the previous answer has arrived; a
request is one patient (``POST /v1/predict``, multipart: two 64x64 PNG views + clinical JSON).
The clients are asyncio streams writing request bytes built once before the run and reading
status line, headers and body (no HTTP library per request: on a 2-core machine the load
generator shares the cores with the server and must cost little). Every answer must be 200 with
one prediction (checked; any other answer stops the script). Each round: a warm-up pass of every
client, then ``--requests`` per client measured.

Printed per side and round: p50/p99 latency, throughput (requests/s) and patients per model call
(from the server's /metrics), then each side's medians; the figure is the median over rounds of
batched / plain throughput in the same round (target >= 2).

The model (default): resnet18 + mean aggregator + concat fusion, 64x64 single-channel views, two
views, untrained seeded weights, exported to ONNX by the export plugin (``--backbone``/``--size``
for others). Before the load, the script times the model alone (ONNX Runtime, same threads):
32 calls of one patient against one call of 32, and prints how much cheaper a patient is in the
batch: that is what batching can gain at most once HTTP and preprocessing are paid on both
sides. ``--quick`` uses the tiny test backbone at 32 px and 4 requests per client to check the
script only (no meaningful figure).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
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
from _timing import Contender, measure, ratio
from serve_models import build_artifacts, manifest_patients

CLIENTS = 32
SIDES = {"batched": {"max_batch": 32, "max_wait_ms": 5.0}, "plain": {"max_batch": 1, "max_wait_ms": 0.0}}
BOUNDARY = "medfusion-load-boundary"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(artifact: Path, threads: int, max_batch: int, max_wait_ms: float) -> tuple[subprocess.Popen, int]:
    """A ``medfusion serve-model`` process, once it is ready; and its port."""
    port = _free_port()
    command = [sys.executable, "-m", "medfusion_core", "serve-model", str(artifact), "--port", str(port)]
    command += ["--max-batch", str(max_batch), "--max-wait-ms", str(max_wait_ms), "--threads", str(threads)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return server, port
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit(f"the server ({' '.join(command)}) did not become ready")
        time.sleep(0.1)


def _request(patient: dict[str, Any], port: int) -> bytes:
    """The bytes of one multipart ``POST /v1/predict`` for ``patient`` (a batch-request entry)."""
    parts = []
    for view, image in patient["images"].items():
        head = f'Content-Disposition: form-data; name="{view}"; filename="{image["filename"]}"\r\n'
        parts.append(head.encode() + b"Content-Type: image/png\r\n\r\n" + base64.b64decode(image["data"]))
    clinical = json.dumps(patient["clinical"]).encode()
    parts.append(b'Content-Disposition: form-data; name="clinical"\r\n\r\n' + clinical)
    delimiter = f"--{BOUNDARY}\r\n".encode()
    body = b"".join(delimiter + part + b"\r\n" for part in parts) + f"--{BOUNDARY}--\r\n".encode()
    head = (
        f"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 answer (``Content-Length`` framed, as uvicorn sends)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    return status, await reader.readexactly(length)


async def _client(port: int, requests: list[bytes], start: int, count: int, latencies: list[float]) -> None:
    """One closed-loop client: ``count`` requests in turn on one connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for n in range(count):
            began = time.perf_counter()
            writer.write(requests[(start + n) % len(requests)])
            status, body = await _answer(reader)
            latencies.append(time.perf_counter() - began)
            if status != 200 or len(json.loads(body)["predictions"]) != 1:
                raise SystemExit(f"request failed: {status} {body[:300]!r}")
    finally:
        writer.close()


async def _load(port: int, requests: list[bytes], per_client: int) -> tuple[list[float], float]:
    """Latencies (s) of the measured requests and their wall time (after a warm-up pass)."""
    warm: list[float] = []
    await asyncio.gather(*(_client(port, requests, i, 2, warm) for i in range(CLIENTS)))
    latencies: list[float] = []
    began = time.perf_counter()
    await asyncio.gather(
        *(_client(port, requests, i * per_client, per_client, latencies) for i in range(CLIENTS))
    )
    return latencies, time.perf_counter() - began


def _model_calls(port: int) -> tuple[float, float]:
    """``(model calls, patients)`` the server has counted so far."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line[:1] != "#"}
    return values["medfusion_serve_batch_size_count"], values["medfusion_serve_batch_size_sum"]


def _round(port: int, requests: list[bytes], per_client: int) -> dict[str, float]:
    before = _model_calls(port)
    latencies, wall = asyncio.run(_load(port, requests, per_client))
    calls, patients = (after - first for after, first in zip(_model_calls(port), before, strict=True))
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "p50_ms": quantiles[49] * 1e3,
        "p99_ms": quantiles[98] * 1e3,
        "throughput": len(latencies) / wall,
        "mean_batch": patients / calls,
    }


def _model_alone(artifact: Path, threads: int) -> float:
    """How many times less a patient costs in one model call of 32 than in 32 calls of one
    (ONNX Runtime alone, the server's session options, interleaved rounds): the most batching can
    gain once HTTP and preprocessing are paid on both sides."""
    from medfusion_plugin_serve.model import ServedModel

    model = ServedModel(artifact, "benchmark", threads=threads)
    one, many = model.probe(1), model.probe(32)
    timings = measure(
        [
            Contender(
                "32 calls of 1 patient", lambda: [model.logits(one) for _ in range(32)], threads, work=32
            ),
            Contender("1 call of 32 patients", lambda: model.logits(many), threads, work=32),
        ],
        repeats=7,
        title="model alone (ONNX Runtime, zero inputs):",
    )
    return ratio(timings["32 calls of 1 patient"], timings["1 call of 32 patients"])


def _rounds(
    artifact: Path, patients: list[dict[str, Any]], threads: int, per_client: int, rounds: int
) -> dict[str, list[dict[str, float]]]:
    """Per side, the figures of each round (sides alternate; the order flips every round)."""
    servers = {name: _start(artifact, threads, **settings) for name, settings in SIDES.items()}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in SIDES}
    try:
        for index in range(rounds):
            for name in list(SIDES) if index % 2 == 0 else list(reversed(SIDES)):
                port = servers[name][1]
                figures = _round(port, [_request(p, port) for p in patients], per_client)
                results[name].append(figures)
                print(f"  round {index + 1} {name:8s} {_describe(figures)}")
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(30)
    return results


def _describe(figures: dict[str, float]) -> str:
    return (
        f"p50 {figures['p50_ms']:7.1f} ms, p99 {figures['p99_ms']:7.1f} ms, "
        f"{figures['throughput']:6.1f} requests/s, {figures['mean_batch']:4.1f} patients per model call"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40, help="measured requests per client per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of both sides")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads of both servers")
    parser.add_argument("--backbone", default="resnet18", help="backbone of the served model")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--quick", action="store_true", help="tiny backbone, 32 px, 4 requests, 1 round")
    args = parser.parse_args()
    per_client, rounds = (4, 1) if args.quick else (args.requests, args.rounds)
    backbone, size = ("tiny", 32) if args.quick else (args.backbone, args.size)
    print(f"model: {backbone} + mean + concat, {size}x{size}, 2 views, {args.threads} ORT thread(s)")
    print(f"load: {CLIENTS} closed-loop clients x {per_client} requests x {rounds} round(s), 1 patient each")
    with tempfile.TemporaryDirectory() as tmp:
        manifest, [artifact] = build_artifacts(Path(tmp), (0,), patients=32, backbone=backbone, size=size)
        patients = [p for p in manifest_patients(manifest) if len(p["images"]) == 2]
        model_gain = _model_alone(artifact, args.threads)
        results = _rounds(artifact, patients, args.threads, per_client, rounds)
    print(f"model alone: a patient costs {model_gain:.2f}x less in a batch of 32 than alone")
    for name, rows in results.items():
        median = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
        print(f"{name:8s} median: {_describe(median)}")
    ratios = [
        batched["throughput"] / plain["throughput"]
        for batched, plain in zip(results["batched"], results["plain"], strict=True)
    ]
    print(f"throughput ratio per round: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(result_line("serve_batched_vs_plain_throughput_ratio", statistics.median(ratios), ">=", 2.0))


if __name__ == "__main__":
    main()
