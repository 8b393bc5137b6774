"""The one error type of a bad prediction request: an HTTP status, the field at fault, a message."""

from __future__ import annotations


class RequestError(Exception):
    """A request the server refuses. ``status`` is the HTTP code (4xx; 500 or 503 when the
    server cannot answer), ``field`` names the part of the request at fault
    (``patients[1].clinical.age``) and the message says what to do."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field
        self.message = message

    def to_json(self) -> dict[str, str]:
        """The JSON body of the error response (``{"error": {"field", "message"}}`` content)."""
        return {"field": self.field, "message": self.message}

    def at(self, prefix: str) -> RequestError:
        """The same error with its field under ``prefix`` (``patients[2]``)."""
        return RequestError(self.status, f"{prefix}.{self.field}", self.message)
