"""The trainer kind: fits a model for one training job and writes the run folder.

Contract: ``factory(**params)`` returns an object with
``fit(job: TrainingJob, run_dir, *, resume=False) -> dict`` that trains, writes checkpoints and
metrics under ``run_dir`` and returns the run's summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from medfusion_core.kinds.base import Info, Kind, hookspec

if TYPE_CHECKING:
    from medfusion_core.runs import TrainingJob
    from medfusion_core.specs import ComponentSpec


@hookspec
def medfusion_register_trainers() -> list[ComponentSpec] | None:
    """Register trainers.

    Factory signature: ``factory(**params)`` returning an object with
    ``fit(job: TrainingJob, run_dir, *, resume=False)`` that trains the job's model, writes
    checkpoints and metrics under ``run_dir`` and returns the run's summary dict.
    """


class Trainer(Protocol):
    """What the training workflow relies on in a trainer."""

    def fit(self, job: TrainingJob, run_dir: str | Path, *, resume: bool = False) -> dict[str, Any]:
        """Train ``job`` into ``run_dir`` (continuing its checkpoint with ``resume``); the summary."""
        ...


KIND = Kind("trainer", medfusion_register_trainers, Info, Trainer)
