"""Alembic environment of the tracking store (see :meth:`Migrations.run_env`)."""

from medfusion_plugin_tracking.migrate import TRACKING
from medfusion_plugin_tracking.schema import Base

TRACKING.run_env(Base.metadata)
