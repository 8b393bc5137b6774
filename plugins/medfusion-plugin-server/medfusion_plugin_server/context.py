"""What every request handler reaches through ``request.app.state.context``: the settings, the
server tables, the tracking store, the login limiter, saved workflows, the workflows plugin's
engine and training service, and the answers remembered until the database changes."""

from __future__ import annotations

import attrs
from medfusion_plugin_tracking.store import TrackingStore
from medfusion_plugin_workflows.engine import WorkflowEngine
from medfusion_plugin_workflows.jobs import TrainingService
from starlette.requests import HTTPConnection

from medfusion_plugin_server.accounts import Accounts
from medfusion_plugin_server.db import ServerDatabase
from medfusion_plugin_server.feeds import Feeds
from medfusion_plugin_server.freshness import AnswerCache
from medfusion_plugin_server.ratelimit import LoginLimiter
from medfusion_plugin_server.settings import Settings
from medfusion_plugin_server.workflow_store import SavedWorkflows


@attrs.define
class AppContext:
    """The long-lived objects of one server."""

    settings: Settings
    db: ServerDatabase
    accounts: Accounts
    store: TrackingStore
    limiter: LoginLimiter
    workflows: SavedWorkflows
    engine: WorkflowEngine
    jobs: TrainingService
    answers: AnswerCache
    feeds: Feeds = attrs.field(factory=Feeds)

    def close(self) -> None:
        """Stop the job scheduler (running jobs go on; the next start re-attaches them) and
        release database connections."""
        self.jobs.close()
        self.answers.version.close()
        self.store.close()
        self.db.close()


def context(connection: HTTPConnection) -> AppContext:
    """The context of the app serving this request or WebSocket."""
    return connection.app.state.context
