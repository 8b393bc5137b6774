"""The workflow editor in headless Chromium (Debian's /usr/bin/chromium through playwright-core)
against canned API answers: palette drag and drop, typed connections, a validation error on its
node, Delete / undo / copy / paste, and the draft restored after a reload. Screenshots go to
``$MEDFUSION_WEB_SCREENSHOTS`` (default: the test's temp folder)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from medfusion_plugin_web import ASSETS
from medfusion_plugin_web.devserver import serve
from medfusion_plugin_web.frontend import FRONTEND, ensure_node_modules
from medfusion_plugin_web.openapi_check import problems


def _kind(name: str, inputs: dict[str, str], outputs: dict[str, str]) -> dict:
    schema = {"type": "object", "properties": {"seed": {"type": "integer", "default": 0}}}
    return {"name": name, "summary": f"{name} step", "plugin": "test", "category": "test", "inputs": inputs,
            "outputs": outputs, "optional": [], "params_schema": schema}  # fmt: skip


ANSWERS = {
    "GET /api/auth/me": {"id": 1, "username": "ana", "role": "researcher", "created": 0.0},
    "GET /api/nodes": [
        _kind("dataset", {}, {"dataset": "Dataset"}),
        _kind("train", {"dataset": "Dataset"}, {"runs": "Runs"}),
        _kind("evaluate", {"runs": "Runs"}, {"report": "Report"}),
    ],
    "GET /api/workflow-templates": [],
    "GET /api/workflows": [],
    "POST /api/workflows/validate": {
        "issues": [{"node": "evaluate", "field": "runs", "message": "required input is not connected"}]
    },
}


def screenshots(tmp_path: Path) -> Path:
    """Where this run's screenshots go."""
    folder = Path(os.environ.get("MEDFUSION_WEB_SCREENSHOTS", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_canned_answers_are_what_the_server_declares():
    document = json.loads((FRONTEND / "openapi.json").read_text())
    found = [line for key, body in ANSWERS.items() for line in problems(document, *key.split(), 200, body)]
    assert not found, "\n".join(found)


def test_editor_drag_connect_validate_keyboard_and_draft(tmp_path):
    ensure_node_modules()
    folder = screenshots(tmp_path)
    with serve(Path(ASSETS), ANSWERS) as base:
        result = subprocess.run(
            ["node", "e2e/editor.mjs", base],
            cwd=FRONTEND,
            capture_output=True,
            text=True,
            timeout=180,
            env={**os.environ, "MEDFUSION_SCREENSHOTS": str(folder)},
            check=False,
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "editor flow ok" in result.stdout
    assert (folder / "editor.png").stat().st_size > 10_000
