"""Helpers for tests and benchmarks: a real uvicorn server on a free loopback port, in a thread,
and dataset archives (a small valid one, hostile ones)."""

from __future__ import annotations

import io
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI
from PIL import Image


@contextmanager
def running_server(app: FastAPI, *, timeout: float = 30.0) -> Iterator[str]:
    """Serve ``app`` on ``127.0.0.1:<free port>``; yields ``http://127.0.0.1:<port>``."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", ws="websockets-sansio", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="medfusion-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def png_bytes(value: int = 128, size: int = 8) -> bytes:
    """A tiny grey PNG."""
    out = io.BytesIO()
    Image.new("L", (size, size), value).save(out, format="PNG")
    return out.getvalue()


def manifest_csv(patients: int = 6) -> str:
    """A manifest of ``patients`` rows, one image column, two classes."""
    rows = ["patient_id,image,age,sex,label"]
    rows += [f"p{i},images/p{i}.png,{50 + i},{'F' if i % 2 else 'M'},{i % 2}" for i in range(patients)]
    return "\n".join(rows) + "\n"


def zip_archive(members: dict[str, bytes]) -> bytes:
    """A zip holding ``members``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def valid_members(patients: int = 6) -> dict[str, bytes]:
    """A manifest and its images."""
    members = {"manifest.csv": manifest_csv(patients).encode()}
    members.update({f"images/p{i}.png": png_bytes(20 * i) for i in range(patients)})
    return members


def tar_with_symlink() -> bytes:
    """A .tar.gz whose manifest is a symlink to /etc/passwd."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        link = tarfile.TarInfo("manifest.csv")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    return out.getvalue()
