"""The PostgreSQL test helpers: a clear message when the server is absent, Debian's layout found
off PATH, and one shared server however many conftests import the fixture."""

from __future__ import annotations

import psycopg
import pytest
from medfusion_plugin_tracking import testing


def test_missing_server_binaries_fail_with_a_clear_message(monkeypatch) -> None:
    monkeypatch.setattr(testing.shutil, "which", lambda name: None)
    monkeypatch.setattr(testing.glob, "glob", lambda pattern: [])
    with pytest.raises(
        testing.PostgresUnavailable,
        match=r"PostgreSQL's initdb is not on PATH.*apt-get install -y postgresql",
    ):
        testing.pg_binary("initdb")


def test_debian_layout_is_found_off_path(monkeypatch) -> None:
    monkeypatch.setattr(testing.shutil, "which", lambda name: None)
    found = ["/usr/lib/postgresql/15/bin/initdb", "/usr/lib/postgresql/9/bin/initdb"]
    monkeypatch.setattr(testing.glob, "glob", lambda pattern: list(found))
    assert testing.pg_binary("initdb") == "/usr/lib/postgresql/15/bin/initdb"


def test_the_server_is_shared_and_databases_are_fresh(postgres_server: str, postgres_url: str) -> None:
    never_called: list[object] = []
    assert testing._shared_server(never_called.append) == postgres_server
    assert never_called == []
    assert postgres_url.startswith(postgres_server + "/") and postgres_url != testing.new_database(
        postgres_server
    )
    with psycopg.connect(postgres_url) as connection:
        tables = connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert tables == (0,)
