"""Writing and reading run files: atomic writes, JSON and JSON lines, checkpoints.

Every file is written atomically (a temporary file in the same folder, fsync, ``os.replace``), so a
crash never leaves a half-written file behind. This module does not import torch at import time.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from medfusion_core.errors import CheckpointError, DataError

#: ``format`` of the checkpoints this version writes.
CHECKPOINT_FORMAT = 1


# -- atomic writes ---------------------------------------------------------------------------


def atomic_write(path: str | Path, write: Callable[[Any], None], *, binary: bool = True) -> Path:
    """Write ``path`` atomically: ``write(fileobj)`` fills a temporary file in the same folder,
    which is flushed, fsynced and renamed over ``path``. Creates the folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def replace_with_copy_of(source: str | Path, path: str | Path) -> Path:
    """Atomically make ``path`` hold the same bytes as ``source`` (a hard link when the file
    system allows it, else a copy); safe because run files are only ever replaced, never edited."""
    source, path = Path(source), Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.link")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    try:
        os.link(source, tmp)
    except OSError:
        return atomic_write(path, lambda handle: handle.write(source.read_bytes()))
    os.replace(tmp, path)
    return path


@contextlib.contextmanager
def set_aside_until_success(folder: str | Path, names: Iterable[str]) -> Iterator[None]:
    """Move the entries ``names`` of ``folder`` (files or folders) aside while the block runs:
    they are deleted when it succeeds and put back, replacing whatever the block wrote there,
    when it fails or is interrupted. A retrain that fails thus leaves the earlier run as it was."""
    import shutil

    folder = Path(folder)
    present = [name for name in names if (folder / name).exists()]
    if not present:
        yield
        return
    aside = Path(tempfile.mkdtemp(prefix=".previous-", dir=folder))
    for name in present:
        os.replace(folder / name, aside / name)
    try:
        yield
    except BaseException:
        for name in present:
            target = folder / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            os.replace(aside / name, target)
        raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write a UTF-8 text file."""
    return atomic_write(path, lambda handle: handle.write(text), binary=False)


def write_json(path: str | Path, data: Any) -> Path:
    """Atomically write ``data`` as indented, key-sorted JSON."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n")


def read_json(path: str | Path) -> Any:
    """Read a JSON file of the run; raises :class:`DataError` naming it when missing or invalid."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            f"{path}: not found; is this a MedFusion run folder (see 'medfusion train')?"
        ) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable JSON ({exc}); re-run 'medfusion train'") from None


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def append_jsonl(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append one JSON object as a line (a single ``write`` of a complete line, then fsync)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(dict(record), sort_keys=True, default=_json_default) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """All complete JSON lines of ``path`` (a torn last line from a crash is ignored)."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):
            records.append(json.loads(line))
    return records


def truncate_jsonl(path: str | Path, keep: Callable[[dict[str, Any]], bool]) -> None:
    """Atomically rewrite ``path`` keeping only the records for which ``keep`` is true (used on
    resume to drop events logged after the checkpoint that is resumed from)."""
    records = [record for record in read_jsonl(path) if keep(record)]
    text = "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)
    write_text(path, text)


# -- checkpoints -----------------------------------------------------------------------------


#: How a file written by ``torch.save`` starts: a zip archive, or (the legacy format) a pickle.
_CHECKPOINT_MAGIC = (b"PK\x03\x04", b"\x80")


def save_checkpoint(path: str | Path, state: Mapping[str, Any]) -> Path:
    """Atomically ``torch.save`` a checkpoint dict (tensors and plain containers only)."""
    import torch

    return atomic_write(path, lambda handle: torch.save(dict(state), handle))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` on the CPU.

    Raises :class:`CheckpointError` with a one-line message naming the file when it is missing,
    not a torch file at all, truncated or corrupt, or holds pickled objects other than tensors and
    plain containers.
    """
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found; train first with 'medfusion train'")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if not head.startswith(_CHECKPOINT_MAGIC):
        raise CheckpointError(
            f"{path}: not a checkpoint at all (not a file written by torch.save); "
            "give a checkpoint from a run's checkpoints/ folder"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower() or "weights_only" in str(exc).lower():
            raise CheckpointError(
                f"{path}: checkpoint holds pickled Python objects, which are refused for safety; "
                f"only tensors and plain containers are loaded — re-create it with 'medfusion train'"
            ) from None
        raise CheckpointError(
            f"{path}: checkpoint is corrupt ({_first_line(exc)}); delete it and retrain"
        ) from None
    except Exception as exc:
        raise CheckpointError(
            f"{path}: checkpoint is truncated or corrupt ({_first_line(exc)}); delete it and retrain"
        ) from None
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{path}: not a MedFusion checkpoint (no 'model' entry); retrain")
    return state


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
