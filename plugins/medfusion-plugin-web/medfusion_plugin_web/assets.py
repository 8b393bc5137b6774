"""The built web app on disk: its folder and the files ``index.html`` loads first."""

from __future__ import annotations

import re
from pathlib import Path

from medfusion_core.errors import MedFusionError
from medfusion_plugin_web import ASSETS

_REFERENCE = re.compile(r'(?:src|href)="/(assets/[^"]+)"')


def assets_dir() -> Path:
    """The folder of the built app."""
    return Path(ASSETS)


def initial_files(folder: Path) -> list[Path]:
    """The scripts, module preloads and stylesheets ``folder/index.html`` names (what a browser
    loads before the first route's own chunk)."""
    index = folder / "index.html"
    if not index.is_file():
        raise MedFusionError(f"{index}: missing; build the frontend (npm run build in frontend/)")
    return [folder / name for name in _REFERENCE.findall(index.read_text(encoding="utf-8"))]


def check_assets(folder: Path) -> list[Path]:
    """Every file of the built app under ``folder``; raises naming the first file ``index.html``
    refers to that is missing."""
    for path in initial_files(folder):
        if not path.is_file():
            raise MedFusionError(f"{path}: referenced by index.html but missing; rebuild the frontend")
    return sorted(path for path in folder.rglob("*") if path.is_file())
