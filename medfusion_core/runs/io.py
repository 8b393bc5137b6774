"""The run directory: where one experiment's config, splits, preprocessing, checkpoints and report live.

Layout of ``<runs_dir>/<config.name>/`` (``runs_dir`` and ``name`` come from the config)::

    config.yaml            the resolved experiment config (absolute manifest path)
    splits.csv             patient_id,split  (train / val / test; one row per patient)
    preprocessing.json     fitted tabular preprocessing, image size/normalisation, task classes
                           and, after ``medfusion evaluate``, the decision threshold per variant
                           (``{"thresholds": {"fused": 0.42, ...}}``) chosen on validation data
    fused/                 one folder per trained model variant (see :data:`VARIANT_DIRS`):
      metrics.jsonl          one JSON object per line: {"event": "step"|"epoch"|"checkpoint"|"end", ...}
      summary.json           what the trainer returned (epochs, steps, best metric, stopped early)
      checkpoints/last.pt    latest state, written every ``checkpoint_every`` steps and each epoch
      checkpoints/best.pt    state at the best validation metric
    image-only/            same as fused/ for the image-only baseline
    clinical-only/         same as fused/ for the clinical-only baseline
    report/                written by ``medfusion evaluate``: report.md, report.html, metrics.json, *.png

Checkpoints are ``torch.save`` dicts of tensors and plain containers only, so that they load with
``torch.load(weights_only=True)``::

    {"format": 1, "model": state_dict, "ema": state_dict | None, "optimizer": state_dict,
     "schedule": {...}, "scaler": {...} | None, "rng": {"python": [...], "numpy": [...],
     "torch": uint8 tensor, "cuda": [uint8 tensor, ...]}, "position": {"epoch": int, "batch": int,
     "step": int}, "progress": {...}, "variant": "fused"}

``position`` is the next batch to train: ``batch == 0`` means epoch ``epoch`` starts afresh. Use
``"ema"`` (when present) for inference: it holds the averaged weights the trainer validated with.

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

import attrs

from medfusion_core.errors import CheckpointError, DataError

#: Model variant (``config.model.modalities``) -> folder name inside the run.
VARIANT_DIRS: dict[str, str] = {"fused": "fused", "image": "image-only", "clinical": "clinical-only"}

CONFIG_FILE = "config.yaml"
SPLITS_FILE = "splits.csv"
PREPROCESSING_FILE = "preprocessing.json"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_DIR = "report"
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


def save_checkpoint(path: str | Path, state: Mapping[str, Any]) -> Path:
    """Atomically ``torch.save`` a checkpoint dict (tensors and plain containers only)."""
    import torch

    return atomic_write(path, lambda handle: torch.save(dict(state), handle))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` on the CPU.

    Raises :class:`CheckpointError` with a one-line message naming the file when it is missing,
    truncated or corrupt, or holds pickled objects other than tensors and plain containers.
    """
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found; train first with 'medfusion train'")
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


# -- the run folder --------------------------------------------------------------------------


@attrs.frozen
class RunPaths:
    """Paths of one run folder (nothing is created until written)."""

    root: Path = attrs.field(converter=Path)

    @classmethod
    def for_config(cls, config: Any) -> RunPaths:
        """The run folder of an :class:`~medfusion_core.config.ExperimentConfig`."""
        return cls(Path(config.runs_dir).expanduser() / config.name)

    @property
    def config(self) -> Path:
        """The resolved config (``config.yaml``)."""
        return self.root / CONFIG_FILE

    @property
    def splits(self) -> Path:
        """``splits.csv`` (patient_id -> split)."""
        return self.root / SPLITS_FILE

    @property
    def preprocessing(self) -> Path:
        """``preprocessing.json``."""
        return self.root / PREPROCESSING_FILE

    @property
    def report(self) -> Path:
        """The report folder written by ``medfusion evaluate``."""
        return self.root / REPORT_DIR

    def variant(self, modalities: str) -> VariantPaths:
        """Paths of one model variant (``fused``, ``image`` or ``clinical``)."""
        if modalities not in VARIANT_DIRS:
            raise DataError(
                f"unknown model variant {modalities!r}; expected one of {', '.join(VARIANT_DIRS)}"
            )
        return VariantPaths(self.root / VARIANT_DIRS[modalities], modalities)

    def trained_variants(self) -> list[VariantPaths]:
        """Variants with a best or last checkpoint, fused first."""
        found = [self.variant(name) for name in VARIANT_DIRS]
        return [paths for paths in found if paths.best.is_file() or paths.last.is_file()]


@attrs.frozen
class VariantPaths:
    """Paths of one trained model variant inside a run."""

    root: Path = attrs.field(converter=Path)
    modalities: str = "fused"

    @property
    def metrics(self) -> Path:
        """``metrics.jsonl``."""
        return self.root / METRICS_FILE

    @property
    def summary(self) -> Path:
        """``summary.json``."""
        return self.root / SUMMARY_FILE

    @property
    def checkpoints(self) -> Path:
        """The checkpoint folder."""
        return self.root / "checkpoints"

    @property
    def last(self) -> Path:
        """``checkpoints/last.pt``."""
        return self.checkpoints / "last.pt"

    @property
    def best(self) -> Path:
        """``checkpoints/best.pt``."""
        return self.checkpoints / "best.pt"

    def inference_checkpoint(self) -> Path:
        """The checkpoint to score with: best when it exists, else last."""
        return self.best if self.best.is_file() else self.last


def write_splits(path: str | Path, assignments: Iterable[tuple[str, str]]) -> Path:
    """Atomically write ``splits.csv`` from ``(patient_id, split)`` pairs."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["patient_id", "split"])
    writer.writerows(assignments)
    return write_text(path, buffer.getvalue())


def read_splits(path: str | Path) -> dict[str, str]:
    """``patient_id -> split`` from ``splits.csv``."""
    import csv

    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return {row["patient_id"]: row["split"] for row in csv.DictReader(handle)}
    except FileNotFoundError:
        raise DataError(f"{path}: not found; is this a MedFusion run folder?") from None
    except KeyError:
        raise DataError(f"{path}: expected columns patient_id,split; re-run 'medfusion train'") from None


# -- what a trainer receives ------------------------------------------------------------------


@attrs.define
class TrainingJob:
    """Everything a trainer's ``fit(job, variant_dir, *, resume=False)`` needs, built by
    ``medfusion train`` (or by hand in tests and benchmarks).

    Attributes:
        config: the experiment config (``seed``, ``task``, ``model`` are read by trainers).
        model: the ``torch.nn.Module`` to train, called as
            ``model(images, view_mask, clinical, modality_mask)`` and, for attention supervision,
            ``model.forward_with_extras(...)``.
        train_batches: ``(epoch, start_batch, rank, world_size) -> iterator`` of batch dicts (the
            shared batch format) for one epoch, starting at ``start_batch``; with several ranks
            each yields its own shard of every global batch (deterministic in the seed and epoch).
        batches_per_epoch: number of global batches in one training epoch.
        val_batches: ``() -> iterable`` of validation batches, or ``None`` (no validation).
        train_labels: training labels (for class weights), a sequence of numbers.
        variant: ``fused``, ``image`` or ``clinical``.
    """

    config: Any
    model: Any
    train_batches: Callable[[int, int, int, int], Iterator[dict[str, Any]]]
    batches_per_epoch: int
    val_batches: Callable[[], Iterable[dict[str, Any]]] | None = None
    train_labels: Any = None
    variant: str = "fused"


def shard_bounds(size: int, rank: int, world_size: int) -> tuple[int, int]:
    """``[start, stop)`` of rank ``rank``'s contiguous share of ``size`` items (sizes differ by at
    most one, earlier ranks larger), the split DistributedSampler-style sharding uses per batch."""
    base, extra = divmod(size, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def shard_batch(batch: dict[str, Any], rank: int, world_size: int) -> dict[str, Any]:
    """Rank ``rank``'s contiguous slice of every entry of a global batch (tensors and lists)."""
    if world_size == 1:
        return batch
    size = len(batch["patient_id"]) if "patient_id" in batch else int(batch["label"].shape[0])
    start, stop = shard_bounds(size, rank, world_size)
    return {key: value[start:stop] for key, value in batch.items()}
