"""Unpacking an uploaded dataset archive safely.

The archive's type is sniffed from its first bytes (zip or gzip-compressed tar), never taken from
its name. Every member is checked before anything is written: no absolute paths, no ``..``, no
links or device files, at most ``max_members`` members and ``max_bytes`` unpacked. Each unpacked
file must be what its first bytes say it may be: a table (CSV text or Parquet), a small text file
(YAML/JSON/TXT/MD) or an image (PNG, JPEG, TIFF, BMP, DICOM, NIfTI, NumPy).
"""

from __future__ import annotations

import stat
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from medfusion_plugin_server.errors import ApiError

_IMAGE_MAGIC = (
    (0, b"\x89PNG\r\n\x1a\n"),
    (0, b"\xff\xd8\xff"),
    (0, b"II*\x00"),
    (0, b"MM\x00*"),
    (0, b"BM"),
    (0, b"\x93NUMPY"),
    (128, b"DICM"),
    (344, b"n+1\x00"),
    (344, b"ni1\x00"),
    (0, b"\x1f\x8b"),  # .nii.gz
)
_TEXT_SUFFIXES = (".csv", ".tsv", ".yaml", ".yml", ".json", ".txt", ".md")
_CHUNK = 1 << 20


def sniff_archive(head: bytes) -> str:
    """``"zip"`` or ``"tar.gz"`` from an archive's first bytes; 415 for anything else."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz"
    raise ApiError(415, "file: not a .zip or .tar.gz archive (its first bytes say neither)")


def _safe_name(name: str) -> PurePosixPath | None:
    """The member's relative path (None for the archive's root folder); 422 when unsafe."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ApiError(422, f"archive member {name!r}: absolute paths are refused")
    if ".." in path.parts:
        raise ApiError(422, f"archive member {name!r}: '..' in a path is refused")
    return None if str(path) in ("", ".") else path


def content_kind(path: PurePosixPath, head: bytes) -> str | None:
    """``"image"``, ``"table"`` or ``"text"`` when the first bytes fit, else None."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "table" if head.startswith(b"PAR1") else None
    if suffix in _TEXT_SUFFIXES:
        if b"\x00" in head:
            return None
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:  # a chunk may end inside a character
            if exc.start < len(head) - 4:
                return None
        return "table" if suffix in (".csv", ".tsv") else "text"
    for offset, magic in _IMAGE_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return "image"
    return None


def _members(archive: zipfile.ZipFile | tarfile.TarFile) -> Iterator[tuple[str, bool, int, int]]:
    """``(name, is_dir, size, mode)`` of each member."""
    if isinstance(archive, zipfile.ZipFile):
        for info in archive.infolist():
            yield info.filename, info.is_dir(), info.file_size, info.external_attr >> 16
        return
    for member in archive.getmembers():
        if not (member.isfile() or member.isdir()):
            raise ApiError(422, f"archive member {member.name!r}: links and special files are refused")
        yield member.name, member.isdir(), member.size, stat.S_IFDIR if member.isdir() else stat.S_IFREG


def _open(archive: zipfile.ZipFile | tarfile.TarFile, name: str) -> IO[bytes]:
    if isinstance(archive, zipfile.ZipFile):
        return archive.open(name)
    handle = archive.extractfile(name)
    assert handle is not None
    return handle


def unpack(path: Path, dest: Path, *, max_members: int, max_bytes: int) -> list[PurePosixPath]:
    """Check and unpack the archive at ``path`` into the empty folder ``dest``; the files written."""
    with path.open("rb") as handle:
        kind = sniff_archive(handle.read(8))
    try:
        opened = zipfile.ZipFile(path) if kind == "zip" else tarfile.open(path, "r:gz")  # noqa: SIM115
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
        raise ApiError(422, f"file: the {kind} archive cannot be read ({exc})") from exc
    with opened as archive:
        try:
            members = list(_members(archive))
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ApiError(422, f"file: the {kind} archive cannot be read ({exc})") from exc
        if len(members) > max_members:
            raise ApiError(413, f"file: {len(members)} archive members, more than the limit of {max_members}")
        files: list[tuple[str, PurePosixPath, int]] = []
        for name, is_dir, size, mode in members:
            safe = _safe_name(name)
            if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise ApiError(422, f"archive member {name!r}: links and special files are refused")
            if safe is not None and not is_dir:
                files.append((name, safe, size))
        declared = sum(size for _, _, size in files)
        if declared > max_bytes:
            raise ApiError(413, f"file: {declared} bytes unpacked, more than the limit of {max_bytes}")
        written = 0
        for name, safe, _ in files:
            target = dest.joinpath(*safe.parts)
            if not target.resolve().is_relative_to(dest.resolve()):
                raise ApiError(422, f"archive member {name!r}: it would be written outside the dataset")
            target.parent.mkdir(parents=True, exist_ok=True)
            with _open(archive, name) as source, target.open("xb") as out:
                head = source.read(_CHUNK)
                if content_kind(safe, head) is None:
                    raise ApiError(
                        415, f"archive member {name!r}: its content is not an image, table or text file"
                    )
                while head:
                    written += len(head)
                    if written > max_bytes:  # sizes in the archive's directory can lie
                        raise ApiError(413, f"file: more than {max_bytes} bytes unpacked")
                    out.write(head)
                    head = source.read(_CHUNK)
    return [safe for _, safe, _ in files]


def copy_limited(source: IO[bytes], target: IO[bytes], limit: int) -> int:
    """Copy ``source`` to ``target``; 413 once more than ``limit`` bytes came."""
    total = 0
    while chunk := source.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise ApiError(413, f"file: the upload is larger than the limit of {limit} bytes")
        target.write(chunk)
    return total
