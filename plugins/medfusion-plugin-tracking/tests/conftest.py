"""Fixtures of the store tests: ``store_url`` (SQLite and a real PostgreSQL server), from
:mod:`medfusion_plugin_tracking.testing`, where other plugins import them from too."""

from medfusion_plugin_tracking.testing import postgres_server, postgres_url, store_url  # noqa: F401
