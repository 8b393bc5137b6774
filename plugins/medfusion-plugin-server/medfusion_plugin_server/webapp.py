"""The built web app, when an installed distribution advertises it: entry point group
``medfusion.web``, name ``assets``, value ``"<module>:<attribute>"`` resolving to the folder of
the built files. Unknown paths outside ``/api`` get ``index.html`` (the app routes itself)."""

from __future__ import annotations

import importlib
import importlib.metadata as md
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse

from medfusion_plugin_server.errors import ApiError

GROUP = "medfusion.web"


def assets_folder() -> Path | None:
    """The folder of the built web app, or None when no distribution advertises one."""
    for entry in md.entry_points(group=GROUP):
        if entry.name != "assets":
            continue
        module, _, attribute = entry.value.partition(":")
        target: object = importlib.import_module(module)
        for part in attribute.split("."):
            target = getattr(target, part)
        folder = Path(str(target))
        if (folder / "index.html").is_file():
            return folder
    return None


def mount(app: FastAPI, folder: Path) -> None:
    """Serve ``folder`` at ``/`` (after every API route)."""
    root = folder.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    def web_app(path: str) -> FileResponse:
        if path == "api" or path.startswith(("api/", "metrics")):
            raise ApiError(404, f"no API route /{path}")
        candidate = (root / path).resolve()
        if path and candidate.is_relative_to(root) and candidate.is_file():
            return FileResponse(candidate)
        return FileResponse(root / "index.html")
