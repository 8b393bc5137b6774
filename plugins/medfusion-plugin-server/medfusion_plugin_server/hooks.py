"""Registers ``medfusion serve`` and ``medfusion users`` (import strings only)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, hookimpl


@hookimpl
def medfusion_register_commands() -> list[ComponentSpec]:
    """``serve`` (the web API) and ``users`` (who may log in)."""
    return [
        ComponentSpec(
            "serve",
            "command",
            "medfusion_plugin_server.cli_serve:serve",
            "Start the web API (and the web app when installed) on 127.0.0.1:8765.",
        ),
        ComponentSpec(
            "users",
            "command",
            "medfusion_plugin_server.cli_users:users",
            "Add, list and remove the users of the web API (roles admin, researcher, viewer).",
        ),
    ]
