"""Small client-side helpers of the serve tests."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import httpx
import pytest

ATOL = 1e-5


def wait_for(url: str, check: Any, timeout_s: float = 60.0) -> httpx.Response:
    """GET ``url`` until ``check(response)`` holds (fails the test after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            response = httpx.get(url)
        except httpx.TransportError as exc:  # not listening yet
            state = str(exc)
        else:
            if check(response):
                return response
            state = f"{response.status_code} {response.text}"
        if time.monotonic() > deadline:
            pytest.fail(f"{url}: still {state}")
        time.sleep(0.05)


def ready(base: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """Wait until the server is ready; its /ready body."""
    return wait_for(f"{base}/ready", lambda r: r.status_code == 200, timeout_s).json()


def multipart(patient: dict[str, Any]) -> dict[str, Any]:
    """httpx keyword arguments posting ``patient`` (a batch entry) as multipart."""
    files = [
        (view, (image["filename"], base64.b64decode(image["data"]), "application/octet-stream"))
        for view, image in patient["images"].items()
    ]
    return {
        "files": files,
        "data": {"clinical": json.dumps(patient["clinical"]), "patient_id": patient["patient_id"]},
    }


def assert_matches(predictions: list[dict[str, Any]], oracle: dict[str, dict[str, Any]]) -> None:
    """Every served prediction equals the artifact predictor's for that patient."""
    assert predictions
    for served in predictions:
        expected = oracle[served["patient_id"]]
        assert served["probability"] == pytest.approx(expected["probability"], abs=ATOL)
        assert served["predicted"] == expected["predicted"]
        assert served["threshold"] == expected["threshold"]


def metric(text: str, name: str) -> float:
    """The value of one unlabelled sample of the Prometheus exposition ``text``."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))
