"""The frontend's API types are generated from the server's OpenAPI document and up to date:
the committed ``openapi.json`` is the app's document, and ``schema.d.ts`` is what
``openapi-typescript`` makes of it (regenerate with ``python -m medfusion_plugin_web.gen_api``)."""

from __future__ import annotations

import json

from medfusion_plugin_web.frontend import FRONTEND, ensure_node_modules, run_npm
from medfusion_plugin_web.gen_api import app_openapi

HINT = "run `python -m medfusion_plugin_web.gen_api` and commit frontend/openapi.json + src/api/schema.d.ts"


def test_committed_openapi_is_the_servers():
    committed = json.loads((FRONTEND / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(app_openapi())), HINT


def test_schema_types_are_generated_from_it(tmp_path):
    ensure_node_modules()
    out = tmp_path / "schema.d.ts"
    run_npm("exec", "--", "openapi-typescript", "openapi.json", "-o", str(out))
    assert out.read_text() == (FRONTEND / "src" / "api" / "schema.d.ts").read_text(), HINT
