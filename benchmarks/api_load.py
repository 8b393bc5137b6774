"""Web API under load: 50 concurrent clients on loopback for 30 s while a training runs.

A ``medfusion serve`` process (its own process, as in production) serves a SQLite store holding
200 finished runs with params and metrics and one live run. While it runs, a writer in this
process logs a metric point to the live run every 20 ms (stamped with the time it was logged),
and unless ``--no-train`` a real tiny training job (demo data, 32 px, 20 epochs) is queued
through the API. The job runs in its own process with one thread (``OMP_NUM_THREADS=1``) at the
server's default job priority (``medfusion serve --job-nice 10``, which also lowers the job's
session group where the kernel schedules by session): on 2 cores it takes what the server and the
clients leave, as a background job should. After the load the script waits for the job and prints
its final state; a job that does not finish makes the script exit non-zero.

The load model is closed-loop without think time: of the 50 clients, 40 each send
``GET /api/runs?limit=50`` and ``GET /api/runs/{id}`` alternately, the next call as soon as the
last answer came (at most ``--requests`` calls each), and 10 hold the live run's metric
WebSocket; all stop after ``--seconds``. This is harsher than 50 people at browsers (who pause
between clicks): every client always has a call in flight, so latencies include the queueing of
40 concurrent requests. The metric points make the database change every 20 ms, so the server's
remembered answers (valid while the database is unchanged) are recomputed all through the load.

Reported: errors (any non-200 answer, failed call or dropped stream; target 0), p99 of the list
calls (target 100 ms), p99 from a point being logged to it arriving on a WebSocket (target
250 ms), and the price of HTTP, auth and JSON: the median of the same list call from one client,
one call at a time, against the same query on the store in this process, interleaved round by
round (``_timing.measure``) while the writer runs (target <= 5).

``python benchmarks/api_load.py [--seconds 30] [--clients 50] [--requests 5000] [--no-train]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line
from _timing import Contender, measure
from medfusion_plugin_tracking.store import TrackingStore

try:
    import uvloop
except ImportError:  # the plain asyncio loop: the load generator costs more
    uvloop = None

PASSWORD = "benchmark password"
FINISHED_RUNS = 200
WRITE_EVERY_S = 0.02


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fill(store: TrackingStore) -> str:
    for index in range(FINISHED_RUNS):
        run_id = store.create_run(f"run{index}", experiment="bench")
        store.log_params(run_id, {f"p{k}": f"v{(index + k) % 5}" for k in range(10)})
        store.log_metrics(run_id, [(f"m{k}", (index * 7 + k) % 100 / 100, 0, 1.7e9) for k in range(20)])
        store.set_status(run_id, "finished")
    return store.create_run("live", experiment="bench")


def _start_server(folder: Path, port: int) -> subprocess.Popen:
    data = folder / "data"  # the training's demo data: a data root of the server
    data.mkdir(exist_ok=True)
    one_thread = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    env = {
        **os.environ,
        **one_thread,
        "MEDFUSION_USER_PASSWORD": PASSWORD,
    }
    medfusion = [sys.executable, "-m", "medfusion_core"]
    subprocess.run(
        [*medfusion, "users", "add", "bench", "--role", "researcher", "--runs-dir", str(folder)],
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [*medfusion, "serve", "--port", str(port), "--runs-dir", str(folder), "--data-root", str(data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"medfusion serve did not start: {server.stderr.read().decode()[-2000:]}")


def _demo_job(folder: Path) -> dict:
    import yaml
    from medfusion_plugin_pipeline.demo import write_demo

    data = folder / "data" / "demo"  # not a run folder name: the run goes to <runs>/<config name>
    write_demo(data, patients=60, seed=0)
    config = yaml.safe_load((data / "config.yaml").read_text())
    config["name"] = "api-load-training"
    config["data"]["manifest"] = str(data / "manifest.csv")
    config["data"]["image"]["size"] = [32, 32]
    config["data"]["loader"]["workers"] = 0
    config["trainer"]["params"].update(epochs=20, progress="never")
    config["evaluation"]["bootstrap"] = 20
    return {"config": config, "modalities": "fused"}


class Tally:
    """What the clients saw."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.list_ms: list[float] = []
        self.detail_ms: list[float] = []
        self.latency_ms: list[float] = []


class KeepAlive:
    """A minimal HTTP/1.1 keep-alive GET client on asyncio streams: the load generator shares the
    2 cores with the server, so it must cost little per call (httpx costs about a millisecond)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        """The status of ``GET path`` (the body is read and dropped)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.head)
        header = await self.reader.readuntil(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        fields = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        await self.reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection") == "close":
            self.writer.close()
            self.writer = None
        return int(lines[0].split(" ")[1])

    def close(self) -> None:
        """Drop the connection."""
        if self.writer is not None:
            self.writer.close()


async def _http_client(
    port: int, token: str, run_ids: list[str], tally: Tally, stop: float, limit: int
) -> None:
    http = KeepAlive(port, token)
    try:
        for call in range(limit):
            if time.monotonic() > stop:
                return
            listing = call % 2 == 0
            path = "/api/runs?limit=50" if listing else f"/api/runs/{run_ids[call % len(run_ids)]}"
            start = time.perf_counter()
            try:
                status = await asyncio.wait_for(http.get(path), timeout=30)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                tally.errors.append(f"{path}: {type(exc).__name__}")
                http.close()
                http = KeepAlive(port, token)
                continue
            elapsed = (time.perf_counter() - start) * 1000
            if status != 200:
                tally.errors.append(f"{path}: {status}")
            (tally.list_ms if listing else tally.detail_ms).append(elapsed)
    finally:
        http.close()


async def _ws_client(url: str, tally: Tally, stop: float) -> None:
    """Hold the live run's stream; points logged before it was open are history, not latency."""
    try:
        async with websockets.connect(url, open_timeout=30, compression=None) as stream:
            opened = time.time()
            while time.monotonic() < stop:
                try:
                    message = json.loads(
                        await asyncio.wait_for(stream.recv(), timeout=max(0.1, stop - time.monotonic()))
                    )
                except TimeoutError:
                    return
                if message["type"] == "metric":
                    if message["data"]["timestamp"] >= opened:
                        tally.latency_ms.append((time.time() - message["data"]["timestamp"]) * 1000)
                else:
                    tally.errors.append(f"stream: {message['type']} {message.get('data')}")
                    return
    except (OSError, websockets.WebSocketException) as exc:
        tally.errors.append(f"stream: {type(exc).__name__}: {exc}")


def _writer(store: TrackingStore, run_id: str, stop: threading.Event) -> None:
    step = 0
    while not stop.is_set():
        store.log_metric(run_id, "train_loss", 1.0 / (step + 1), step, timestamp=time.time())
        step += 1
        time.sleep(WRITE_EVERY_S)


async def _write_points(store: TrackingStore, run_id: str, stop: float) -> None:
    step = 0
    while time.monotonic() < stop:
        await asyncio.to_thread(
            store.log_metric, run_id, "train_loss", 1.0 / (step + 1), step, timestamp=time.time()
        )
        step += 1
        await asyncio.sleep(WRITE_EVERY_S)


def _observer(url: str, live: str, ws: str, streams: int, seconds: float, out: Any) -> None:
    """The training's side, in a process of its own: log a point to the live run every 20 ms and
    hold ``streams`` WebSockets on it (so that the HTTP clients' work delays neither)."""
    store = TrackingStore(url)
    tally = Tally()
    stop = time.monotonic() + seconds

    async def both() -> None:
        await asyncio.gather(
            _write_points(store, live, stop), *(_ws_client(ws, tally, stop) for _ in range(streams))
        )

    asyncio.run(both())
    store.close()
    out.send((tally.errors, tally.latency_ms))


def _load(
    port: int, token: str, run_ids: list[str], store: TrackingStore, live: str, args: argparse.Namespace
) -> Tally:
    tally = Tally()
    streams = max(1, args.clients // 5)
    ws = f"ws://127.0.0.1:{port}/api/ws/runs/{live}/metrics?token={token}"
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    observer = spawn.Process(target=_observer, args=(store.url, live, ws, streams, args.seconds, send))
    observer.start()

    async def clients() -> None:
        stop = time.monotonic() + args.seconds
        await asyncio.gather(
            *(
                _http_client(port, token, run_ids, tally, stop, args.requests)
                for _ in range(args.clients - streams)
            )
        )

    (uvloop.run if uvloop is not None else asyncio.run)(clients())
    errors, latencies = receive.recv()
    observer.join(60)
    tally.errors += errors
    tally.latency_ms = latencies
    return tally


def _job_state(base: str, token: str, job_id: str) -> dict:
    return httpx.get(f"{base}/api/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"}).json()


def _price_of_http(port: int, token: str, store: TrackingStore) -> float:
    """Median of one client's list call (the load's keep-alive client) over the same query in
    process, while the writer runs."""
    loop = asyncio.new_event_loop()
    http = KeepAlive(port, token)

    def over_http() -> None:
        if loop.run_until_complete(http.get("/api/runs?limit=50")) != 200:
            raise SystemExit("GET /api/runs failed during the one-client measurement")

    try:
        timings = measure(
            [
                Contender("runs list over HTTP", over_http),
                Contender("runs list in process", lambda: store.search_runs(limit=50)),
            ],
            repeats=40,
            title="one client, one call at a time, against the same listing on the store in process",
        )
    finally:
        http.close()
        loop.close()
    return timings["runs list over HTTP"].median / timings["runs list in process"].median


def main() -> None:
    """Run the load and print the RESULT lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the clients run (default 30)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--requests", type=int, default=5000, help="at most this many calls per HTTP client")
    parser.add_argument("--no-train", action="store_true", help="no training job during the load")
    args = parser.parse_args()
    final = None
    with tempfile.TemporaryDirectory(prefix="medfusion-api-load-") as tmp:
        folder = Path(tmp)
        store = TrackingStore(runs_dir=folder)
        live = _fill(store)
        run_ids = [run.id for run in store.search_runs(limit=FINISHED_RUNS)]
        port = _free_port()
        server = _start_server(folder, port)
        base = f"http://127.0.0.1:{port}"
        try:
            token = httpx.post(
                f"{base}/api/auth/token", json={"username": "bench", "password": PASSWORD}
            ).json()["access_token"]
            training = None
            if not args.no_train:
                job = httpx.post(
                    f"{base}/api/jobs", json=_demo_job(folder), headers={"Authorization": f"Bearer {token}"}
                )
                training = job.json()["id"] if job.status_code == 201 else None
                if training is None:
                    raise SystemExit(f"the training job was refused: {job.text}")
            tally = _load(port, token, run_ids, store, live, args)
            during = _job_state(base, token, training)["state"] if training else None
            stop = threading.Event()
            writer = threading.Thread(target=_writer, args=(store, live, stop), daemon=True)
            writer.start()
            price = _price_of_http(port, token, store)
            stop.set()
            writer.join()
            if training is not None:
                deadline = time.monotonic() + 900
                final = _job_state(base, token, training)
                while final["state"] in ("queued", "running", "cancelling") and time.monotonic() < deadline:
                    time.sleep(1)
                    final = _job_state(base, token, training)
                print(f"training job: {during} when the load ended, then {final['state']}")
                if final["state"] != "finished":
                    print(f"training job error: {final.get('error')}")
        finally:
            server.terminate()
            server.wait(30)
            store.close()
    calls = len(tally.list_ms) + len(tally.detail_ms)
    points = len(tally.latency_ms)
    print(f"{args.clients} clients, {args.seconds:g} s: {calls} HTTP calls, {points} streamed points")
    if tally.errors:
        print(f"errors (first 5): {tally.errors[:5]}")
    list_p99 = _percentile(tally.list_ms, 0.99)
    detail_p99 = _percentile(tally.detail_ms, 0.99)
    print(f"list p50 {_percentile(tally.list_ms, 0.5):.1f} ms, detail p99 {detail_p99:.1f} ms")
    print(result_line("api_load_errors", len(tally.errors), "<=", 0))
    print(result_line("api_runs_list_p99_ms", list_p99, "<=", 100))
    print(result_line("api_ws_metric_latency_p99_ms", _percentile(tally.latency_ms, 0.99), "<=", 250))
    print(result_line("api_runs_list_vs_store_in_process", price, "<=", 5))
    if final is not None and final["state"] != "finished":
        raise SystemExit(f"the training job during the load ended {final['state']}, not finished")


if __name__ == "__main__":
    main()
