"""The run folder's layout: paths of a run and its variants, file names and ``splits.csv``.

See :mod:`medfusion_core.runs` for the layout of ``<runs_dir>/<config.name>/``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from medfusion_core.errors import DataError
from medfusion_core.runs.io import write_text

#: Model variant (``config.model.modalities``) -> folder name inside the run.
VARIANT_DIRS: dict[str, str] = {"fused": "fused", "image": "image-only", "clinical": "clinical-only"}

CONFIG_FILE = "config.yaml"
SPLITS_FILE = "splits.csv"
PREPROCESSING_FILE = "preprocessing.json"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_DIR = "report"


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
