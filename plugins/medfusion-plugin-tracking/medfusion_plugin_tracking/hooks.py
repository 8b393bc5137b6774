"""Registers the store tracker (import strings only: nothing heavy is imported here)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, Param, hookimpl


@hookimpl
def medfusion_register_trackers() -> list[ComponentSpec]:
    """The built-in tracker writing every run to the tracking store."""
    return [
        ComponentSpec(
            "store",
            "tracker",
            "medfusion_plugin_tracking.tracker:StoreTracker",
            "Runs, metrics and models in one SQL store (SQLite file by default, PostgreSQL by URL).",
            {"url": Param("str", None, "store URL; default $MEDFUSION_TRACKING_URI or <runs>/medfusion.db")},
        )
    ]
