"""The prediction API against the artifact's own predictor, dynamic batching, readiness and the
OpenAPI document."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
from helpers import assert_matches, metric, multipart, ready
from medfusion_plugin_serve.app import create_app
from medfusion_plugin_serve.background import serve_in_thread
from medfusion_plugin_serve.serving import Settings
from medfusion_plugin_serve.source import ArtifactSource, Located


def test_single_and_batch_predictions_equal_the_artifact_predictor(models: dict[str, Any]) -> None:
    artifact, oracle = models["artifacts"][0], models["oracle"][0]
    with serve_in_thread(create_app(ArtifactSource(artifact.parent))) as base:
        assert ready(base)["model"] == str(artifact)
        batch = httpx.post(f"{base}/v1/predict/batch", json={"patients": models["patients"]})
        assert batch.status_code == 200, batch.text
        served = batch.json()["predictions"]
        assert [p["patient_id"] for p in served] == [p["patient_id"] for p in models["patients"]]
        assert_matches(served, oracle)
        one_view = next(p for p in models["patients"] if len(p["images"]) == 1)
        for patient in (models["patients"][0], one_view):
            single = httpx.post(f"{base}/v1/predict", **multipart(patient))
            assert single.status_code == 200, single.text
            assert_matches(single.json()["predictions"], oracle)


def test_concurrent_requests_share_model_calls(models: dict[str, Any]) -> None:
    oracle, patients = models["oracle"][0], models["patients"][:8]
    settings = Settings(max_batch=8, max_wait_ms=10_000)  # a full batch goes at once: no timing
    with serve_in_thread(create_app(ArtifactSource(models["artifacts"][0]), settings)) as base:
        ready(base)

        async def one(client: httpx.AsyncClient, patient: dict[str, Any]) -> httpx.Response:
            return await client.post(f"{base}/v1/predict", **multipart(patient))

        async def all_at_once() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=60) as client:
                return await asyncio.gather(*(one(client, p) for p in patients))

        responses = asyncio.run(all_at_once())
        metrics = httpx.get(f"{base}/metrics").text
    for patient, response in zip(patients, responses, strict=True):
        assert response.status_code == 200, response.text
        [served] = response.json()["predictions"]
        assert served["patient_id"] == patient["patient_id"]
        assert_matches([served], oracle)
    calls, patients_scored = (
        metric(metrics, "medfusion_serve_batch_size_count"),
        metric(metrics, "medfusion_serve_batch_size_sum"),
    )
    assert patients_scored == 8 and calls < 8 and patients_scored / calls > 1
    assert 'medfusion_serve_requests_total{endpoint="/v1/predict",status="200"} 8.0' in metrics
    assert metric(metrics, 'medfusion_serve_request_latency_seconds_count{endpoint="/v1/predict"}') == 8
    assert metric(metrics, "medfusion_serve_inference_seconds_count") == calls


class GatedSource(ArtifactSource):
    """An artifact whose lookup waits for ``gate`` (a slow registry or file system)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()

    def locate(self) -> Located:
        """The artifact, once the gate opens."""
        self.gate.wait(60)
        return super().locate()


def test_not_ready_until_the_model_is_loaded(models: dict[str, Any]) -> None:
    source = GatedSource(models["artifacts"][0])
    with serve_in_thread(create_app(source)) as base:
        assert httpx.get(f"{base}/health").json() == {"status": "ok"}
        waiting = httpx.get(f"{base}/ready")
        assert waiting.status_code == 503 and waiting.json() == {"ready": False, "reason": "loading"}
        early = httpx.post(f"{base}/v1/predict/batch", json={"patients": models["patients"][:1]})
        assert early.status_code == 503 and early.json()["error"]["field"] == "model"
        source.gate.set()
        ready(base)
        assert (
            httpx.post(f"{base}/v1/predict/batch", json={"patients": models["patients"][:1]}).status_code
            == 200
        )


def test_openapi_documents_both_request_formats(models: dict[str, Any]) -> None:
    with serve_in_thread(create_app(ArtifactSource(models["artifacts"][0]))) as base:
        paths = httpx.get(f"{base}/openapi.json").json()["paths"]
        info = httpx.get(f"{base}/v1/model").json() if ready(base) else {}
    assert "multipart/form-data" in paths["/v1/predict"]["post"]["requestBody"]["content"]
    batch = paths["/v1/predict/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert batch["required"] == ["patients"]
    assert {"/health", "/ready", "/metrics", "/v1/model"} <= set(paths)
    assert info["views"] == ["view1", "view2"] and info["numeric"] == ["age", "lab"]
