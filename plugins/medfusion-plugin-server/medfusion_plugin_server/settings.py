"""What one server instance is configured with (from ``medfusion serve``'s options or a test)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import attrs

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """Whether ``host`` binds only the loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@attrs.frozen
class Settings:
    """Server settings.

    Attributes:
        url: the database URL (the tracking store's; the server tables live beside its tables).
        runs_dir: the runs folder (training output; uploaded datasets go to ``runs_dir/datasets``).
        cors_origins: origins allowed cross-origin requests (none: CORS closed).
        max_upload_bytes: the largest accepted dataset archive.
        max_unpacked_bytes: the largest total size of an archive's unpacked files.
        max_members: the most files an archive may hold.
        login_attempts: failed logins allowed per client and per username within ``login_window``.
        login_window: seconds of the login rate limit's window.
        secure_cookie: send the session cookie only over HTTPS (set behind a TLS proxy).
        poll_seconds: how often a stream's source is polled for new events (once per source,
            however many WebSockets follow it).
        max_parallel_nodes: workflow nodes run at once per execution.
        max_jobs: training jobs run at once (default: 1 on CPU, one per GPU).
        job_nice: how many nice levels below the server training jobs and workflow nodes run
            (default 10: the API stays responsive while a training keeps the machine busy, and
            the training still gets all the CPU the server leaves; 0: the server's priority).
        data_roots: folders besides the uploaded datasets whose manifests, configs and weights
            workflows and jobs may read (see :mod:`.data_roots`).
    """

    url: str
    runs_dir: Path
    cors_origins: tuple[str, ...] = ()
    max_upload_bytes: int = 512 * 1024 * 1024
    max_unpacked_bytes: int = 2 * 1024 * 1024 * 1024
    max_members: int = 200_000
    login_attempts: int = 5
    login_window: float = 60.0
    secure_cookie: bool = False
    poll_seconds: float = 0.025
    max_parallel_nodes: int = 2
    max_jobs: int | None = None
    job_nice: int = 10
    data_roots: tuple[Path, ...] = ()

    @property
    def datasets_dir(self) -> Path:
        """Where uploaded datasets are unpacked."""
        return self.runs_dir / "datasets"

    @property
    def allowed_roots(self) -> tuple[Path, ...]:
        """The folders workflows and jobs may read data from: the uploads and ``data_roots``."""
        return (self.datasets_dir, *self.data_roots)
