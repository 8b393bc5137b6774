"""The frontend's API types are generated from the server's OpenAPI document and up to date:
the committed ``openapi.json`` is the app's document, and ``schema.d.ts`` is what
``openapi-typescript`` makes of it (regenerate with ``python -m medfusion_plugin_web.gen_api``).
Every answer the app reads has a declared schema, and the checker the end-to-end test runs on
real answers refuses wrong types and undeclared keys."""

from __future__ import annotations

import json

from medfusion_plugin_web.frontend import FRONTEND, ensure_node_modules, run_npm
from medfusion_plugin_web.gen_api import app_openapi
from medfusion_plugin_web.openapi_check import problems, response_schema

HINT = "run `python -m medfusion_plugin_web.gen_api` and commit frontend/openapi.json + src/api/schema.d.ts"


def test_committed_openapi_is_the_servers():
    committed = json.loads((FRONTEND / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(app_openapi())), HINT


def test_schema_types_are_generated_from_it(tmp_path):
    ensure_node_modules()
    out = tmp_path / "schema.d.ts"
    run_npm("exec", "--", "openapi-typescript", "openapi.json", "-o", str(out))
    assert out.read_text() == (FRONTEND / "src" / "api" / "schema.d.ts").read_text(), HINT


# the answers the pages read: each must have a real schema, not a free-form object
READ = [
    ("GET", "/api/auth/me"), ("GET", "/api/runs"), ("GET", "/api/runs/x"), ("POST", "/api/runs/compare"),
    ("GET", "/api/executions"), ("GET", "/api/executions/x"), ("GET", "/api/jobs"), ("GET", "/api/jobs/x"),
    ("GET", "/api/models/x"), ("GET", "/api/datasets/x"), ("GET", "/api/datasets/x/patients"),
    ("GET", "/api/workflows/x"), ("GET", "/api/nodes"), ("POST", "/api/workflows/validate"),
]  # fmt: skip


def _document() -> dict:
    return json.loads((FRONTEND / "openapi.json").read_text())


def test_every_answer_the_app_reads_is_declared():
    document = _document()
    for method, path in READ:
        schema = response_schema(
            document, method, path, 201 if path == "/api/jobs" and method == "POST" else 200
        )
        target = schema.get("items", schema).get("$ref", "")
        assert target.startswith("#/components/schemas/"), (method, path, schema)


def test_the_checker_refuses_wrong_types_and_undeclared_keys():
    document = _document()
    user = {"id": 1, "username": "ana", "role": "viewer", "created": 1.0}
    assert problems(document, "GET", "/api/auth/me", 200, user) == []
    assert problems(document, "GET", "/api/users", 200, [user, {**user, "id": 2}]) == []
    wrong = problems(
        document, "GET", "/api/users", 200, [user, {**user, "role": "owner"}, {**user, "extra": 1}]
    )
    assert len(wrong) == 2
    assert "at $[1].role: 'owner' is not one of" in wrong[0]
    assert "at $[2]: Additional properties are not allowed ('extra' was unexpected)" in wrong[1]
    job = response_schema(document, "GET", "/api/jobs/abc/log", 200)
    assert job["$ref"].endswith("/JobLog")  # the literal /log route, not /{job_id}/{action}
