"""The PostgreSQL fixture fails, with a message saying what to install, when the server is absent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import conftest


def test_missing_server_binaries_fail_with_a_clear_message(monkeypatch) -> None:
    monkeypatch.setattr(conftest.shutil, "which", lambda name: None)
    monkeypatch.setattr(conftest.glob, "glob", lambda pattern: [])
    with pytest.raises(
        pytest.fail.Exception, match=r"PostgreSQL's initdb is not on PATH.*apt-get install -y postgresql"
    ):
        conftest._pg_binary("initdb")


def test_debian_layout_is_found_off_path(monkeypatch) -> None:
    monkeypatch.setattr(conftest.shutil, "which", lambda name: None)
    found = ["/usr/lib/postgresql/15/bin/initdb", "/usr/lib/postgresql/9/bin/initdb"]
    monkeypatch.setattr(conftest.glob, "glob", lambda pattern: list(found))
    assert conftest._pg_binary("initdb") == "/usr/lib/postgresql/15/bin/initdb"
