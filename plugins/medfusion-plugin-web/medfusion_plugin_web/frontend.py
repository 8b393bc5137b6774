"""Driving the frontend's Node toolchain from Python (tests and the budgets benchmark): install
``node_modules`` from the lockfile when absent, run npm scripts, build into a folder. Only useful in
a source checkout; the wheel carries the built app and needs no Node."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from medfusion_core.errors import MedFusionError

#: The frontend sources (``package.json``, ``src/``) of a source checkout.
FRONTEND = Path(__file__).resolve().parent.parent / "frontend"


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise MedFusionError("npm not found: install Node.js 18+ (Debian: apt-get install nodejs npm)")
    if not (FRONTEND / "package.json").is_file():
        raise MedFusionError(
            f"{FRONTEND}/package.json: missing; the frontend sources are only in a source checkout"
        )
    return npm


def run_npm(
    *args: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """``npm ARGS`` in the frontend folder; raises with the tail of its output when it fails."""
    result = subprocess.run(
        [_npm(), *args],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-4000:]
        raise MedFusionError(f"npm {' '.join(args)} failed ({result.returncode}):\n{output}")
    return result


def ensure_node_modules() -> None:
    """``npm ci`` (exactly the lockfile's packages) when ``node_modules`` is missing."""
    if not (FRONTEND / "node_modules" / ".package-lock.json").is_file():
        run_npm("ci", "--no-audit", "--no-fund", timeout=1200)


def build(out_dir: Path) -> Path:
    """Build the app into ``out_dir`` (emptied first) and return it."""
    ensure_node_modules()
    run_npm("run", "build", env={"MEDFUSION_WEB_OUT": str(out_dir)})
    return out_dir
