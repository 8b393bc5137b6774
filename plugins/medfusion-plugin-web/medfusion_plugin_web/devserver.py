"""A loopback HTTP server for the built app alone, with canned API answers: what the budgets
benchmark and the browser tests of the frontend run against when no real server is needed. It
serves ``assets/`` from a build folder, ``index.html`` for every other non-API path (the app's
routes), and answers ``METHOD /api/...`` paths from a table (404 with a ``detail`` otherwise)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Handler(SimpleHTTPRequestHandler):
    answers: Mapping[str, Any] = {}
    pages: Mapping[str, bytes] = {}

    def log_message(self, *args: object) -> None:
        """Quiet."""

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _api(self, method: str) -> bool:
        path = self.path.split("?")[0]
        if path in self.pages:
            self._send(200, self.pages[path], "text/html")
            return True
        if not path.startswith("/api/"):
            return False
        if method != "GET":
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = f"{method} {path}"
        if key in self.answers:
            self._send(200, json.dumps(self.answers[key]).encode(), "application/json")
        else:
            self._send(
                404, json.dumps({"detail": f"no canned answer for {key}"}).encode(), "application/json"
            )
        return True

    def do_GET(self) -> None:
        """A canned answer, a file of ``assets/``, or ``index.html``."""
        if self._api("GET"):
            return
        if not self.path.startswith("/assets/"):
            self.path = "/index.html"
        super().do_GET()

    def do_POST(self) -> None:
        """A canned answer."""
        self._api("POST")

    def do_PUT(self) -> None:
        """A canned answer."""
        self._api("PUT")


@contextmanager
def serve(
    folder: Path, answers: Mapping[str, Any], pages: Mapping[str, bytes] | None = None
) -> Iterator[str]:
    """Serve the built app in ``folder`` with ``answers`` (``"GET /api/runs": [...]``) and extra
    static ``pages`` (path -> HTML) on a free loopback port; yields the base URL."""
    handler = type("Handler", (_Handler,), {"answers": dict(answers), "pages": dict(pages or {})})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()
