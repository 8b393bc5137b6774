"""Fixtures: the tracking plugin's ``store_url`` (a SQLite file, or a database on a throwaway
PostgreSQL server) from :mod:`medfusion_plugin_tracking.testing`, and a small demo dataset."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from medfusion_plugin_tracking.testing import postgres_server, postgres_url, store_url  # noqa: F401

sys.path.insert(0, str(Path(__file__).parent))
from tune_helpers import PATIENTS, medfusion, small_config


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo dataset with its small config; the config's path (runs go to ``<data>/../runs``)."""
    root = tmp_path_factory.mktemp("tune")
    medfusion("demo-data", root / "data", "--patients", PATIENTS, "--seed", 3).ok()
    return small_config(root / "data", root / "runs")
