"""End to end in headless Chromium against `medfusion serve` on loopback (a fresh store, an admin
created at start): e2e/flow.mjs builds the quickstart workflow from the palette, runs it (three
1-epoch trainings at 32 px on 40 demo patients, evaluate, compare, register, alias) and drives
the app through the rest of the lifecycle (see its header). Screenshots of each page go to
``$MEDFUSION_WEB_SCREENSHOTS`` (default: the test's temp folder)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from medfusion_plugin_web.frontend import FRONTEND, ensure_node_modules

CLI = "import sys; from medfusion_core.cli import main; sys.argv = ['medfusion', *sys.argv[1:]]; main()"
PASSWORD = "admin-password-1"
PAGES = ["login", "dashboard", "editor", "execution", "datasets", "runs", "monitor", "compare", "models",
         "config", "executions", "users", "viewer-models"]  # fmt: skip


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDFUSION_")}
    return {**env, "OMP_NUM_THREADS": "1", "MEDFUSION_TRACKING_URI": url}


def medfusion(url: str, *args: str) -> None:
    """Run ``medfusion ARGS`` against the store at ``url``; fail with its stderr."""
    result = subprocess.run(
        [sys.executable, "-c", CLI, *args], capture_output=True, text=True, env=_env(url), timeout=900
    )
    assert result.returncode == 0, f"medfusion {' '.join(args)}:\n{result.stderr[-3000:]}"


def _archive(demo: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(demo.rglob("*")):
            if path.is_file() and path.suffix != ".yaml":
                archive.write(path, path.relative_to(demo).as_posix())
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`medfusion serve` on a fresh store; yields the base URL and a demo dataset archive to
    upload."""
    ensure_node_modules()
    root = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{root / 'store.db'}"
    medfusion(url, "demo-data", str(root / "demo"), "--patients", "24", "--seed", "3")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", CLI, "serve", "--port", str(port), "--create-admin", "admin",
         "--store", url, "--runs-dir", str(root / "runs")],
        env={**_env(url), "MEDFUSION_ADMIN_PASSWORD": PASSWORD},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/health", timeout=2).close()
            break
        except OSError:
            assert server.poll() is None, f"medfusion serve exited:\n{server.stderr.read()[-3000:]}"
            assert time.monotonic() < deadline, "medfusion serve did not answer /api/health in 120 s"
            time.sleep(0.5)
    try:
        yield base, _archive(root / "demo", root / "demo.zip")
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_lifecycle_in_the_browser(site, tmp_path):
    base, archive = site
    shots = Path(os.environ.get("MEDFUSION_WEB_SCREENSHOTS", tmp_path / "screenshots"))
    env = {
        **os.environ,
        "MEDFUSION_E2E_BASE": base,
        "MEDFUSION_E2E_PASSWORD": PASSWORD,
        "MEDFUSION_E2E_ARCHIVE": str(archive),
        "MEDFUSION_SCREENSHOTS": str(shots),
    }
    result = subprocess.run(
        ["node", "e2e/flow.mjs"],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "e2e flow ok" in result.stdout
    assert "step monitor 0 points" not in result.stdout
    for page in PAGES:
        assert (shots / f"{page}.png").stat().st_size > 5_000, page
