"""Web API under load: 50 concurrent clients on loopback for 30 s while a training runs.

A ``medfusion serve`` process (its own process, as in production) serves a SQLite store holding
200 finished runs with params and metrics and one live run. While it runs, a writer in this
process logs a metric point to the live run every 20 ms (stamped with the time it was logged),
and unless ``--no-train`` a real tiny training job (demo data, 32 px) is queued through the API.
Of the clients, 40 alternate between ``GET /api/runs?limit=50`` and ``GET /api/runs/{id}`` and
10 hold the live run's metric WebSocket; every client stops after ``--seconds`` or
``--requests`` calls. Reported: errors (any non-200 answer, failed call or dropped stream;
target 0), p99 of the list calls (target 100 ms), p99 from a point being logged to it arriving on
a WebSocket (target 250 ms), and the list call's median against the same query on the store in
process (the price of HTTP, auth and JSON).

``python benchmarks/api_load.py [--seconds 30] [--clients 50] [--requests 5000] [--no-train]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2 as httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line
from _timing import Contender, measure
from medfusion_plugin_tracking.store import TrackingStore

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
    env = {**os.environ, "MEDFUSION_USER_PASSWORD": PASSWORD}
    medfusion = [sys.executable, "-m", "medfusion_core"]
    subprocess.run(
        [*medfusion, "users", "add", "bench", "--role", "researcher", "--runs-dir", str(folder)],
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [*medfusion, "serve", "--port", str(port), "--runs-dir", str(folder)],
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

    data = folder / "demo"
    write_demo(data, patients=60, seed=0)
    config = yaml.safe_load((data / "config.yaml").read_text())
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


async def _http_client(
    base: str, token: str, run_ids: list[str], tally: Tally, stop: float, limit: int
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        for call in range(limit):
            if time.monotonic() > stop:
                return
            listing = call % 2 == 0
            path = "/api/runs?limit=50" if listing else f"/api/runs/{run_ids[call % len(run_ids)]}"
            start = time.perf_counter()
            try:
                answer = await http.get(path)
            except httpx.HTTPError as exc:
                tally.errors.append(f"{path}: {type(exc).__name__}")
                continue
            elapsed = (time.perf_counter() - start) * 1000
            if answer.status_code != 200:
                tally.errors.append(f"{path}: {answer.status_code}")
            (tally.list_ms if listing else tally.detail_ms).append(elapsed)


async def _ws_client(url: str, tally: Tally, stop: float) -> None:
    """Hold the live run's stream; points logged before it was open are history, not latency."""
    try:
        async with websockets.connect(url, open_timeout=30) as stream:
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


async def _load(base: str, token: str, run_ids: list[str], live: str, args: argparse.Namespace) -> Tally:
    tally = Tally()
    stop = time.monotonic() + args.seconds
    streams = max(1, args.clients // 5)
    ws = base.replace("http://", "ws://") + f"/api/ws/runs/{live}/metrics?token={token}"
    clients = [_ws_client(ws, tally, stop) for _ in range(streams)]
    clients += [
        _http_client(base, token, run_ids, tally, stop, args.requests) for _ in range(args.clients - streams)
    ]
    await asyncio.gather(*clients)
    return tally


def main() -> None:
    """Run the load and print the RESULT lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the clients run (default 30)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--requests", type=int, default=5000, help="at most this many calls per HTTP client")
    parser.add_argument("--no-train", action="store_true", help="no training job during the load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="medfusion-api-load-") as tmp:
        folder = Path(tmp)
        store = TrackingStore(runs_dir=folder)
        live = _fill(store)
        run_ids = [run.id for run in store.search_runs(limit=FINISHED_RUNS)]
        direct = measure(
            [Contender("runs list in process", lambda: store.search_runs(limit=50))],
            repeats=20,
            title="the same listing on the store, in process",
        )["runs list in process"].median
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
            stop = threading.Event()
            writer = threading.Thread(target=_writer, args=(store, live, stop), daemon=True)
            writer.start()
            tally = asyncio.run(_load(base, token, run_ids, live, args))
            stop.set()
            writer.join()
            if training is not None:
                state = httpx.get(
                    f"{base}/api/jobs/{training}", headers={"Authorization": f"Bearer {token}"}
                ).json()
                print(f"training job during the load: {state['state']}")
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
    ratio = statistics.median(tally.list_ms) / (direct * 1000) if tally.list_ms else float("nan")
    print(result_line("api_runs_list_vs_store_in_process", ratio, "<=", 5))


if __name__ == "__main__":
    main()
