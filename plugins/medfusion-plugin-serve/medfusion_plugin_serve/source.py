"""Where the served model comes from: an artifact folder (or file), or a model version of the
registry (``NAME@alias``, ``NAME/N``, ``NAME``) asked again at every poll so that a moved alias
is noticed.

The server runs ONNX artifacts (the exporter whose predictor ``medfusion predict --model`` uses):
a version's registered ``.onnx`` artifact, else the ``export/<variant>.onnx`` of its run folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import attrs
from medfusion_plugin_tracking.store import TrackingStore

from medfusion_core.errors import ExportError

SUFFIX = ".onnx"
EXPORT_HINT = "export it with 'medfusion export RUN --format onnx'"


@attrs.frozen
class Located:
    """One concrete model: ``key`` changes exactly when a different model should be served."""

    key: str
    label: str
    artifact: Path


class ModelSource(Protocol):
    """What the server asks for the model to serve."""

    #: Whether the answer can change while serving (then the server polls :meth:`locate`).
    polls: bool

    def locate(self) -> Located:
        """The model to serve now; raises a MedFusionError with one line when there is none."""
        ...

    def close(self) -> None:
        """Release what the source holds."""
        ...


def artifact_in(path: Path) -> Path:
    """The ONNX artifact a folder holds (``fused.onnx`` when there are several), or ``path`` itself."""
    if path.is_file():
        if path.suffix != SUFFIX:
            raise ExportError(f"{path}: the server runs ONNX artifacts (.onnx); {EXPORT_HINT}")
        return path
    found = sorted(path.glob(f"*{SUFFIX}"))
    if not found:
        raise ExportError(f"{path}: no .onnx artifact in this folder; {EXPORT_HINT}")
    fused = [p for p in found if p.name == f"fused{SUFFIX}"]
    if len(found) > 1 and not fused:
        names = ", ".join(p.name for p in found)
        raise ExportError(f"{path}: several artifacts ({names}); name the file to serve")
    return (fused or found)[0]


class ArtifactSource:
    """A fixed artifact folder or file (no polling)."""

    polls = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def locate(self) -> Located:
        """The folder's artifact (a re-exported file is a new model: its time is in the key)."""
        artifact = artifact_in(self.path)
        return Located(f"{artifact.resolve()}:{artifact.stat().st_mtime_ns}", str(artifact), artifact)

    def close(self) -> None:
        """Nothing to release."""


class RegistrySource:
    """A model reference resolved in the tracking store at each :meth:`locate`."""

    polls = True

    def __init__(self, ref: str, url: str | None = None, *, runs_dir: str | Path = "runs") -> None:
        self.ref = ref
        self.store = TrackingStore(url, runs_dir=runs_dir)

    def locate(self) -> Located:
        """The ONNX artifact of the version ``ref`` names now."""
        version = self.store.resolve_model(self.ref)
        registered = [Path(p) for p in version.artifacts if p.endswith(SUFFIX) and Path(p).is_file()]
        if registered:
            artifact = registered[0]
        else:
            run_dir, variant = self.store.model_run_folder(version.ref)
            artifact = run_dir / "export" / f"{variant}{SUFFIX}"
            if not artifact.is_file():
                raise ExportError(
                    f"model version {version.ref} has no ONNX artifact ({artifact}); {EXPORT_HINT}"
                )
        return Located(f"{version.ref}:{artifact.resolve()}", version.ref, artifact)

    def close(self) -> None:
        """Close the store's connections."""
        self.store.close()


def open_source(target: str, store_url: str | None, runs_dir: Path) -> ModelSource:
    """An :class:`ArtifactSource` when ``target`` is an existing path, else a :class:`RegistrySource`."""
    if Path(target).exists():
        return ArtifactSource(target)
    if "/" in target and not target.split("/")[-1].isdigit():
        raise ExportError(f"{target}: no such artifact folder or file (a model version is NAME/N)")
    return RegistrySource(target, store_url, runs_dir=runs_dir)
