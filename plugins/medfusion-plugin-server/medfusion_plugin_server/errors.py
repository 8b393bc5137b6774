"""The server's errors: each maps to one HTTP status and a one-line message."""

from __future__ import annotations

from medfusion_core.errors import MedFusionError


class ApiError(MedFusionError):
    """A request the server refuses: ``status`` is the HTTP status, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
