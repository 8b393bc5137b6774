"""One patient of a prediction request: validated, then preprocessed as the artifact says.

The image path is MedFusion's own: the registered reader of the file's extension decodes it (so
every format ``medfusion predict`` reads is served), and the ``fill_views`` kernel resizes,
windows and normalises it with the artifact's image settings and no augmentation. The clinical
values are checked per patient and go through the artifact's fitted tabular preprocessing once
per batch (:meth:`Preparer.arrays`). Every problem is a
:class:`~medfusion_plugin_serve.errors.RequestError` naming the field (``images.view1[0]``,
``clinical.age``) and what to do.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd

from medfusion_core.data import TabularPreprocessor
from medfusion_core.data.readers import default_window, read_image, reader_spec
from medfusion_core.errors import DataError
from medfusion_core.kernels import get_kernel
from medfusion_core.viewops import ViewJob
from medfusion_plugin_serve.errors import RequestError
from medfusion_plugin_serve.model import ServedModel


def _memory_folder() -> str | None:
    """A RAM-backed folder for uploads (``/dev/shm``) when it is writable, else ``None`` (the
    system's temporary folder)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@attrs.frozen
class Limits:
    """What one request may hold: bytes per image file, patients per request, bytes per body."""

    max_image_bytes: int = 20 * 2**20
    max_patients: int = 64
    max_body_bytes: int = 256 * 2**20


@attrs.frozen
class ImagePart:
    """One uploaded image: the view (image column) it is, its file name (the extension picks the
    reader) and its bytes."""

    view: str
    filename: str
    data: bytes


@attrs.frozen
class PatientRequest:
    """What a request says about one patient."""

    patient_id: str | None
    images: list[ImagePart]
    clinical: dict[str, Any]


@attrs.frozen
class Prepared:
    """One patient ready for the model: its views (no batch axis), its checked clinical values
    (numbers as float, NaN: missing; categories as text or ``None``; encoded per batch, see
    :meth:`Preparer.arrays`) and the notes for its response."""

    patient_id: str | None
    images: np.ndarray
    view_mask: np.ndarray
    clinical: dict[str, float | str | None]
    warnings: list[str]


class Preparer:
    """Validates and preprocesses patients for one :class:`ServedModel`."""

    def __init__(self, model: ServedModel, limits: Limits) -> None:
        self.model = model
        self.limits = limits
        # uploads are written here to be read by the registered readers (one file per thread and
        # extension, overwritten: no directory is made or removed per request), in memory
        # (/dev/shm) where the system has it
        self._folder = Path(tempfile.mkdtemp(prefix="medfusion-serve-", dir=_memory_folder()))
        weakref.finalize(self, shutil.rmtree, self._folder, True)
        metadata = model.metadata
        self.view_columns: list[str] = list(metadata["columns"]["images"])
        self.numeric: list[str] = list(metadata["columns"]["numeric"])
        self.categorical: list[str] = list(metadata["columns"]["categorical"])
        self.tabular = TabularPreprocessor.from_json(metadata["preprocessing"]["tabular"])
        image = metadata["image"]
        self.window = tuple(image["window"]) if image.get("window") else None
        channels = model.channels
        mean, std = list(image["mean"]), list(image["std"])
        self.mean = mean * channels if len(mean) == 1 else mean
        self.std = std * channels if len(std) == 1 else std

    def prepare(self, patient: PatientRequest) -> Prepared:
        """The model inputs of ``patient``; a :class:`RequestError` when the request is wrong."""
        warnings: list[str] = []
        images, view_mask = self._images(patient.images)
        clinical = self._clinical(patient.clinical, warnings)
        given = any(not (isinstance(v, float) and math.isnan(v)) and v is not None for v in clinical.values())
        if self.model.reads_clinical and not self.model.reads_images and not given:
            raise RequestError(
                422, "clinical", f"no clinical value given; the model reads {', '.join(self._columns)}"
            )
        return Prepared(patient.patient_id, images, view_mask, clinical, warnings)

    def arrays(self, items: list[Prepared]) -> tuple[np.ndarray, ...]:
        """The four batch arrays of ``items`` in the artifact's input order; the clinical values
        of the whole batch go through the tabular preprocessing at once."""
        frame = pd.DataFrame([item.clinical for item in items], columns=self._columns)
        for column in self.numeric:
            frame[column] = frame[column].astype(np.float64)
        clinical, present = self.tabular.encode(frame)
        view_mask = np.stack([item.view_mask for item in items])
        modality_mask = np.stack([view_mask.any(axis=1), present], axis=1)
        return np.stack([item.images for item in items]), view_mask, clinical, modality_mask

    @property
    def _columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    # -- images -------------------------------------------------------------------------------

    def _images(self, parts: list[ImagePart]) -> tuple[np.ndarray, np.ndarray]:
        model = self.model
        images = np.zeros((model.views, model.channels, *model.size), np.float32)
        view_mask = np.zeros(model.views, bool)
        if not model.reads_images:
            if parts:
                raise RequestError(
                    422, f"images.{parts[0].view}", "this model reads no images; leave them out"
                )
            return images, view_mask
        known = ", ".join(self.view_columns)
        for part in parts:
            if part.view not in self.view_columns:
                raise RequestError(
                    422, f"images.{part.view}", f"unknown view; the model reads views: {known}"
                )
        if not parts:
            raise RequestError(422, "images", f"missing view: give at least one image of the views {known}")
        ordered = sorted(parts, key=lambda part: self.view_columns.index(part.view))
        if len(ordered) > model.views:
            raise RequestError(
                422, "images", f"{len(ordered)} images given; the model takes at most {model.views} views"
            )
        jobs = []
        seen: dict[str, int] = {}
        names = []
        for slot, part in enumerate(ordered):
            position = seen[part.view] = seen.get(part.view, -1) + 1
            name = f"images.{part.view}[{position}]"
            array, window = self._decode(part, name)
            spatial = len(model.size)
            jobs.append(ViewJob(image=array, slot=slot, window=window, flip=(False,) * spatial))
            names.append(name)
            view_mask[slot] = True
        for index, reason in get_kernel("fill_views")(jobs, images, None, mean=self.mean, std=self.std):
            raise RequestError(422, names[index], f"cannot prepare this image ({reason})")
        return images, view_mask

    def _decode(self, part: ImagePart, name: str) -> tuple[np.ndarray, tuple[float, float] | None]:
        """The decoded image of ``part`` (through the registered reader of its extension) and its
        window (the artifact's, else the one the file carries)."""
        if len(part.data) > self.limits.max_image_bytes:
            raise RequestError(
                413, name, f"{len(part.data)} bytes; images may have at most {self.limits.max_image_bytes}"
            )
        if not part.data:
            raise RequestError(422, name, f"{part.filename!r} is empty")
        suffix = "".join(Path(part.filename).suffixes).lower()
        try:
            reader_spec(f"image{suffix}")
        except DataError as exc:
            raise RequestError(415, name, f"{part.filename!r}: {exc}") from None
        path = self._folder / f"{threading.get_ident()}{suffix}"
        path.write_bytes(part.data)
        try:
            array = read_image(path)
            window = self.window or default_window(path)
        except DataError as exc:
            reason = str(exc).replace(str(path), repr(part.filename))
            raise RequestError(422, name, f"not a readable image: {reason}") from None
        self._check_shape(array, name)
        return array, window  # type: ignore[return-value]

    def _check_shape(self, array: np.ndarray, name: str) -> None:
        spatial, channels = len(self.model.size), self.model.channels
        if spatial == 3 and array.ndim != 3:
            raise RequestError(
                422, name, f"shape {list(array.shape)} is not a 3D volume; the model reads volumes"
            )
        if spatial == 2 and not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, channels))):
            raise RequestError(
                422, name, f"shape {list(array.shape)} does not give the model's {channels} channel(s)"
            )

    # -- clinical -----------------------------------------------------------------------------

    def _clinical(self, values: Any, warnings: list[str]) -> dict[str, float | str | None]:
        if not isinstance(values, dict):
            raise RequestError(422, "clinical", "give the clinical values as a JSON object {column: value}")
        unknown = [column for column in values if column not in self._columns]
        if unknown:
            known = ", ".join(self._columns) or "none"
            raise RequestError(
                422, f"clinical.{unknown[0]}", f"unknown clinical column; the model reads: {known}"
            )
        row: dict[str, float | str | None] = {}
        for column in self.numeric:
            row[column] = self._number(column, values.get(column))
        for column in self.categorical:
            row[column] = self._category(column, values.get(column), warnings)
        return row

    @staticmethod
    def _number(column: str, value: Any) -> float:
        if value is None:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RequestError(
                422, f"clinical.{column}", f"{value!r} is not a number; give a number or null (missing)"
            )
        if not math.isfinite(value):
            raise RequestError(422, f"clinical.{column}", f"{value!r} is not finite; give a number or null")
        return float(value)

    def _category(self, column: str, value: Any, warnings: list[str]) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise RequestError(
                422, f"clinical.{column}", f"{value!r}: give the category as a string (or null: missing)"
            )
        text = str(value)
        known = self.tabular.categories.get(column, [])
        if text not in known:
            warnings.append(
                f"clinical.{column}: category {text!r} was not seen in training ({', '.join(known)}); "
                "no category of its column is set"
            )
        return text
