"""Fixtures: the tracking plugin's ``store_url`` (a SQLite file, or a database on a throwaway
PostgreSQL server), loaded from its conftest, and a small demo dataset."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tune_helpers import PATIENTS, medfusion, small_config

_TRACKING_CONFTEST = Path(__file__).parents[2] / "medfusion-plugin-tracking" / "tests" / "conftest.py"
_spec = importlib.util.spec_from_file_location("medfusion_tracking_test_fixtures", _TRACKING_CONFTEST)
_fixtures = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(_fixtures)  # type: ignore[union-attr]
postgres_server = _fixtures.postgres_server
store_url = _fixtures.store_url


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo dataset with its small config; the config's path (runs go to ``<data>/../runs``)."""
    root = tmp_path_factory.mktemp("tune")
    medfusion("demo-data", root / "data", "--patients", PATIENTS, "--seed", 3).ok()
    return small_config(root / "data", root / "runs")
