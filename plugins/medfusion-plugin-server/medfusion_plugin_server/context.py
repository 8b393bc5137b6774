"""What every request handler reaches through ``request.app.state.context``: the settings, the
server tables, the tracking store, the login limiter and, when the workflows plugin answers, its
engine and training service."""

from __future__ import annotations

from typing import Any

import attrs
from medfusion_plugin_tracking.store import TrackingStore
from starlette.requests import HTTPConnection

from medfusion_plugin_server.accounts import Accounts
from medfusion_plugin_server.db import ServerDatabase
from medfusion_plugin_server.ratelimit import LoginLimiter
from medfusion_plugin_server.settings import Settings


@attrs.define
class AppContext:
    """The long-lived objects of one server."""

    settings: Settings
    db: ServerDatabase
    accounts: Accounts
    store: TrackingStore
    limiter: LoginLimiter
    services: dict[str, Any] = attrs.field(factory=dict)

    def close(self) -> None:
        """Release database connections."""
        self.store.close()
        self.db.close()


def context(connection: HTTPConnection) -> AppContext:
    """The context of the app serving this request or WebSocket."""
    return connection.app.state.context
