"""The tracking plugin's error: a one-line message the CLI prints as it is."""

from __future__ import annotations

from medfusion_core.errors import MedFusionError


class TrackingError(MedFusionError):
    """A store, filter or registry request failed; the message names what and why."""
