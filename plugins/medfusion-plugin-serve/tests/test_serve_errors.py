"""Bad requests are answered 4xx with the field at fault; the server keeps answering; bad command
lines are one-line errors."""

from __future__ import annotations

import base64
import copy
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import assert_matches, metric, multipart, ready
from medfusion_plugin_serve.app import create_app
from medfusion_plugin_serve.background import serve_in_thread
from medfusion_plugin_serve.inputs import Limits
from medfusion_plugin_serve.serving import Settings
from medfusion_plugin_serve.source import ArtifactSource

from medfusion_core.cli import main


def _patient(models: dict[str, Any], change: Any) -> dict[str, Any]:
    patient = copy.deepcopy(models["patients"][0])
    change(patient)
    return {"patients": [patient]}


def _image(data: bytes, filename: str = "x.png") -> dict[str, str]:
    return {"filename": filename, "data": base64.b64encode(data).decode()}


#: (what is wrong, request change, status, field)
BAD_BATCHES = [
    (
        "unknown view",
        lambda p: p["images"].update(view9=p["images"]["view1"]),
        422,
        "patients[0].images.view9",
    ),
    ("missing view", lambda p: p.update(images={}), 422, "patients[0].images"),
    (
        "not an image",
        lambda p: p["images"].update(view1=_image(b"not a png")),
        422,
        "patients[0].images.view1[0]",
    ),
    ("empty image", lambda p: p["images"].update(view1=_image(b"")), 422, "patients[0].images.view1[0]"),
    (
        "unsupported type",
        lambda p: p["images"].update(view1=_image(b"GIF89a", "x.gif")),
        415,
        "patients[0].images.view1[0]",
    ),
    (
        "bad base64",
        lambda p: p["images"].update(view1={"filename": "x.png", "data": "@@"}),
        422,
        "patients[0].images.view1[0].data",
    ),
    ("unknown column", lambda p: p["clinical"].update(weight=70), 422, "patients[0].clinical.weight"),
    ("wrong type", lambda p: p["clinical"].update(age="old"), 422, "patients[0].clinical.age"),
    ("bool as number", lambda p: p["clinical"].update(lab=True), 422, "patients[0].clinical.lab"),
    ("wrong category type", lambda p: p["clinical"].update(sex=[1]), 422, "patients[0].clinical.sex"),
    ("clinical not an object", lambda p: p.update(clinical=[1, 2]), 422, "patients[0].clinical"),
    ("unknown patient field", lambda p: p.update(label=1), 422, "patients[0].label"),
]


@pytest.fixture(scope="module")
def server(models: dict[str, Any]):
    limits = Limits(max_image_bytes=4096, max_patients=4)
    with serve_in_thread(create_app(ArtifactSource(models["artifacts"][0]), Settings(limits=limits))) as base:
        ready(base)
        yield base


@pytest.mark.parametrize(("what", "change", "status", "field"), BAD_BATCHES, ids=[b[0] for b in BAD_BATCHES])
def test_bad_batch_requests_are_4xx_naming_the_field(server, models, what, change, status, field) -> None:
    response = httpx.post(f"{server}/v1/predict/batch", json=_patient(models, change))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field and error["message"]


def test_other_bad_requests_and_the_server_still_answers(server, models) -> None:
    url = f"{server}/v1/predict/batch"
    big = _patient(models, lambda p: p["images"].update(view1=_image(b"\x89PNG" + b"0" * 5000)))
    cases = [
        (httpx.post(url, json=big), 413, "patients[0].images.view1[0]"),
        (httpx.post(url, json={"patients": models["patients"][:5]}), 413, "patients"),
        (httpx.post(url, content=b"{not json", headers={"content-type": "application/json"}), 400, "body"),
        (httpx.post(url, json={"patient": []}), 422, "patients"),
        (httpx.post(f"{server}/v1/predict", json={"patients": []}), 415, "body"),
        (
            httpx.post(
                f"{server}/v1/predict", data={"clinical": "{age: 1}"}, files={"view1": ("a.png", b"x")}
            ),
            422,
            "clinical",
        ),
        (
            httpx.post(f"{server}/v1/predict", data={"colour": "red"}, files={"view1": ("a.png", b"x")}),
            422,
            "colour",
        ),
        (httpx.post(f"{server}/v1/predict", data={"clinical": "{}"}), 422, "images"),
    ]
    for response, status, field in cases:
        assert response.status_code == status, response.text
        assert response.json()["error"]["field"] == field
    assert httpx.get(f"{server}/nowhere").status_code == 404
    good = httpx.post(f"{server}/v1/predict", **multipart(models["patients"][1]))
    assert good.status_code == 200
    assert_matches(good.json()["predictions"], models["oracle"][0])
    metrics = httpx.get(f"{server}/metrics").text
    assert metric(metrics, 'medfusion_serve_errors_total{endpoint="/v1/predict/batch",status="413"}') >= 2


def test_unseen_category_is_served_with_a_warning(server, models) -> None:
    response = httpx.post(
        f"{server}/v1/predict/batch", json=_patient(models, lambda p: p["clinical"].update(sex="X"))
    )
    assert response.status_code == 200
    [warning] = response.json()["predictions"][0]["warnings"]
    assert warning.startswith("clinical.sex: category 'X' was not seen in training")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("chest@champion", "error: no registered model 'chest'"),
        ("runs/nowhere/export", "error: runs/nowhere/export: no such artifact folder or file"),
    ],
)
def test_command_errors_are_one_line(tmp_path: Path, capsys, monkeypatch, target: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["serve-model", target, "--store", f"sqlite:///{tmp_path}/m.db"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith(message) and error.count("\n") == 1


def test_the_command_serves_an_artifact_folder(models) -> None:
    """``medfusion serve-model DIR`` as a user runs it: its own process, a real port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "medfusion_core", "serve-model", str(models["artifacts"][1].parent)]
    server = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        assert server.stdout is not None
        assert server.stdout.readline().startswith(f"serving {models['artifacts'][1]}")
        ready(base)
        response = httpx.post(f"{base}/v1/predict", **multipart(models["patients"][2]))
        assert response.status_code == 200
        assert_matches(response.json()["predictions"], models["oracle"][1])
    finally:
        server.terminate()
        server.wait(30)


def test_command_refuses_a_folder_without_onnx(tmp_path: Path, capsys) -> None:
    (tmp_path / "fused.pt2").write_bytes(b"")
    with pytest.raises(SystemExit):
        main(["serve-model", str(tmp_path)])
    assert "no .onnx artifact in this folder" in capsys.readouterr().err
