"""The plugin's error: one line naming the file, node or field and what to do."""

from __future__ import annotations

from medfusion_core.errors import MedFusionError


class WorkflowError(MedFusionError):
    """A workflow file, execution or job request that cannot be used (one line)."""
