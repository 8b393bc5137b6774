"""Regenerate the frontend's API types from the server's OpenAPI document: build the FastAPI app
of ``medfusion-plugin-server`` (on a throw-away SQLite store), write its OpenAPI JSON to
``frontend/openapi.json`` and run ``openapi-typescript`` on it into
``frontend/src/api/schema.d.ts``. ``--url`` reads the document of a running server instead.

Usage: ``python -m medfusion_plugin_web.gen_api [--url http://127.0.0.1:8765]``."""

from __future__ import annotations

import argparse
import json
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from medfusion_core.runs.io import atomic_write
from medfusion_plugin_web.frontend import FRONTEND, ensure_node_modules, run_npm


def app_openapi() -> dict[str, Any]:
    """The OpenAPI document of the server's app (no server started, the web app not mounted)."""
    from medfusion_plugin_server.app import create_app
    from medfusion_plugin_server.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(url=f"sqlite:///{Path(tmp) / 'openapi.db'}", runs_dir=Path(tmp))
        return create_app(settings, serve_web=False).openapi()


def url_openapi(base: str) -> dict[str, Any]:
    """The OpenAPI document a running server publishes at ``/api/openapi.json``."""
    with urllib.request.urlopen(f"{base.rstrip('/')}/api/openapi.json", timeout=30) as answer:
        return json.load(answer)


def write_types(document: dict[str, Any]) -> Path:
    """Write ``document`` to ``frontend/openapi.json`` and generate ``src/api/schema.d.ts``."""
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    atomic_write(FRONTEND / "openapi.json", lambda handle: handle.write(text), binary=False)
    ensure_node_modules()
    run_npm("run", "gen:api")
    return FRONTEND / "src" / "api" / "schema.d.ts"


def main() -> None:
    """Parse the arguments and regenerate."""
    parser = argparse.ArgumentParser(description="Regenerate the frontend's API types from OpenAPI.")
    parser.add_argument("--url", help="a running server's base URL (default: build the app in-process)")
    args = parser.parse_args()
    print(write_types(url_openapi(args.url) if args.url else app_openapi()))


if __name__ == "__main__":
    main()
