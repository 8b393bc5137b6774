"""Hot switching: the alias moves, the new version is loaded and verified, then takes over; a
request waiting on the old version finishes on it; a version that fails to load changes nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
from helpers import assert_matches, metric, ready, wait_for
from medfusion_plugin_serve.app import create_app
from medfusion_plugin_serve.background import serve_in_thread
from medfusion_plugin_serve.serving import Settings
from medfusion_plugin_serve.source import RegistrySource
from medfusion_plugin_tracking.store import TrackingStore


def _register(store: TrackingStore, artifact: Path) -> int:
    version = store.register_model_version("demo", None, checkpoint="-", artifacts=[str(artifact)])
    return version.version


def _wait_until(condition: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_alias_move_switches_the_served_version(models: dict[str, Any], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/medfusion.db"
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with TrackingStore(url) as store:
        first, second = (_register(store, artifact) for artifact in models["artifacts"])
        third = _register(store, broken)
        store.set_alias("demo", "champion", first)
    # max_wait 30 s: a lone request waits in the batcher until the switch flushes it
    settings = Settings(max_batch=8, max_wait_ms=30_000, poll_s=0.2)
    app = create_app(RegistrySource("demo@champion", url), settings)
    patient = models["patients"][0]
    with serve_in_thread(app) as base:
        assert ready(base)["model"] == "demo/1"
        holder = app.state.holder
        old = holder.current.batcher
        answers: list[httpx.Response] = []
        waiting = threading.Thread(
            target=lambda: answers.append(
                httpx.post(f"{base}/v1/predict/batch", json={"patients": [patient]}, timeout=60)
            )
        )
        waiting.start()
        _wait_until(lambda: old.active == 1 and old.pending == 1)
        with TrackingStore(url) as store:
            store.set_alias("demo", "champion", second)
        waiting.join(60)
        [answer] = answers
        assert answer.status_code == 200 and answer.json()["model"] == "demo/1"
        assert_matches(answer.json()["predictions"], models["oracle"][0])
        assert wait_for(f"{base}/ready", lambda r: r.json().get("model") == "demo/2").status_code == 200
        after = httpx.post(f"{base}/v1/predict/batch", json={"patients": models["patients"][:8]}, timeout=60)
        assert after.json()["model"] == "demo/2"
        assert_matches(after.json()["predictions"], models["oracle"][1])
        _wait_until(lambda: old.stopped)

        with TrackingStore(url) as store:
            store.set_alias("demo", "champion", third)
        wait_for(
            f"{base}/metrics", lambda r: metric(r.text, "medfusion_serve_model_load_failures_total") >= 1
        )
        still = httpx.post(f"{base}/v1/predict/batch", json={"patients": models["patients"][:8]}, timeout=60)
        assert still.status_code == 200 and still.json()["model"] == "demo/2"
        metrics = httpx.get(f"{base}/metrics").text
    assert metric(metrics, "medfusion_serve_model_switches_total") == 1
    assert metric(metrics, "medfusion_serve_model_load_failures_total") == 1
    assert 'medfusion_serve_model{model="demo/2"} 1.0' in metrics and "demo/1" not in metrics
