"""Uploaded datasets: unpack the archive (see :mod:`.archive`), find the manifest, check it with
the core's manifest validation, summarise it and record it.

The data section comes from the upload's ``data_config`` (JSON), else the archive's
``config.yaml`` ``data`` section, else it is inferred from the manifest's columns: ``patient_id``
and ``label`` by name, image columns by their file suffixes, numeric columns where every cell is
a number, the rest categorical.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from pathlib import Path, PurePosixPath
from typing import IO, Any

import cattrs
import pandas as pd
import yaml
from sqlalchemy import select

from medfusion_core.config import CONVERTER, DataConfig
from medfusion_core.data.manifest import load_manifest, read_table
from medfusion_core.errors import DataError
from medfusion_plugin_server.archive import copy_limited, unpack
from medfusion_plugin_server.context import AppContext
from medfusion_plugin_server.errors import ApiError
from medfusion_plugin_server.schema import Dataset

_MANIFESTS = ("manifest.csv", "manifest.tsv", "manifest.parquet")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm", ".nii", ".nii.gz", ".npy")
_RESERVED = {"patient_id", "label", "split"}


def _find_manifest(folder: Path, files: list[PurePosixPath]) -> Path:
    """``manifest.csv`` (or .tsv/.parquet) at the archive's root or in its one top folder."""
    candidates = [path for path in files if path.name in _MANIFESTS and len(path.parts) <= 2]
    if len(candidates) != 1:
        found = "none" if not candidates else ", ".join(map(str, candidates))
        raise ApiError(422, f"file: the archive needs one manifest.csv at its root (found {found})")
    return folder.joinpath(*candidates[0].parts)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def infer_data_config(table: pd.DataFrame) -> dict[str, Any]:
    """A data section for a manifest without one (see the module docstring)."""
    images, numeric, categorical = [], [], []
    for column in table.columns:
        cells = [str(v).strip() for v in table[column].dropna() if str(v).strip()]
        if column in _RESERVED or not cells:
            continue
        if all(cell.lower().endswith(_IMAGE_SUFFIXES) for cell in cells):
            images.append(column)
        elif all(_is_number(cell) for cell in cells):
            numeric.append(column)
        elif not any(";" in cell for cell in cells):
            categorical.append(column)
    section: dict[str, Any] = {"images": images, "numeric": numeric, "categorical": categorical}
    if "split" in table.columns:
        section["split"] = "split"
    return section


def _data_section(folder: Path, manifest: Path, given: str | None, table: pd.DataFrame) -> dict[str, Any]:
    if given:
        try:
            section = json.loads(given)
        except json.JSONDecodeError as exc:
            raise ApiError(422, f"data_config: not JSON ({exc.msg} at character {exc.pos})") from exc
    elif (manifest.parent / "config.yaml").is_file():
        try:
            loaded = yaml.safe_load((manifest.parent / "config.yaml").read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ApiError(422, f"config.yaml in the archive: not YAML ({exc})".replace("\n", " ")) from exc
        section = loaded.get("data") if isinstance(loaded, dict) else None
        section = section if isinstance(section, dict) else infer_data_config(table)
    else:
        section = infer_data_config(table)
    if not isinstance(section, dict):
        raise ApiError(422, "data_config: must be an object (the data section of a config)")
    return {**section, "manifest": str(manifest)}


def _structure(section: dict[str, Any]) -> DataConfig:
    try:
        return CONVERTER.structure(section, DataConfig)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        messages = cattrs.transform_error(exc) if isinstance(exc, cattrs.BaseValidationError) else [str(exc)]
        raise ApiError(422, f"data_config: {'; '.join(messages)}") from exc


def summarise(config: DataConfig) -> dict[str, Any]:
    """Patients, columns, class balance and missing values per column of a valid manifest."""
    manifest = load_manifest(config)
    table = read_table(Path(config.manifest))
    labels = pd.Series(manifest.labels).astype(str).value_counts()
    return {
        "patients": len(manifest),
        "rows": len(table),
        "columns": list(table.columns),
        "class_balance": {str(key): int(value) for key, value in labels.sort_index().items()},
        "missing": {column: int(table[column].isna().sum()) for column in table.columns},
        "views_per_patient": manifest.max_views,
        "splits": (pd.Series(manifest.splits).value_counts().to_dict() if manifest.splits else None),
    }


def dataset_dict(row: Dataset) -> dict[str, Any]:
    """The API form of a dataset; ``config`` is the archive's config.yaml (for a workflow's
    dataset node) when it had one."""
    config = Path(row.data_config["manifest"]).parent / "config.yaml"
    return {
        "id": row.id,
        "name": row.name,
        "owner": row.owner,
        "created": row.created,
        "manifest": row.data_config["manifest"],
        "config": str(config)
        if (config := Path(row.data_config["manifest"]).parent / "config.yaml").is_file()
        else None,
        "data_config": row.data_config,
        **row.summary,
    }


def create(
    ctx: AppContext, upload: IO[bytes], name: str, owner: str | None, data_config: str | None
) -> dict[str, Any]:
    """Store, check and record an uploaded archive; nothing stays behind when it is refused."""
    settings = ctx.settings
    settings.datasets_dir.mkdir(parents=True, exist_ok=True)
    dataset_id = uuid.uuid4().hex
    folder = settings.datasets_dir / dataset_id
    with tempfile.TemporaryDirectory(dir=settings.datasets_dir, prefix=".upload-") as scratch:
        archive, unpacked = Path(scratch) / "archive", Path(scratch) / "files"
        unpacked.mkdir()
        with archive.open("wb") as out:
            copy_limited(upload, out, settings.max_upload_bytes)
        files = unpack(
            archive, unpacked, max_members=settings.max_members, max_bytes=settings.max_unpacked_bytes
        )
        manifest = _find_manifest(unpacked, files)
        final = folder / manifest.relative_to(unpacked)
        try:
            table = read_table(manifest)
            section = _data_section(unpacked, manifest, data_config, table)
            summary = summarise(_structure(section))
        except DataError as exc:
            raise ApiError(422, str(exc).replace(str(unpacked) + "/", "")) from exc
        unpacked.rename(folder)
    section["manifest"] = str(final)
    row = Dataset(
        id=dataset_id,
        name=name,
        owner=owner,
        folder=str(folder),
        data_config=section,
        summary=summary,
        created=time.time(),
    )
    with ctx.db.write() as session:
        session.add(row)
    return dataset_dict(row)


def get(ctx: AppContext, dataset_id: str) -> Dataset:
    """The dataset row; 404 when unknown."""
    with ctx.db.read() as session:
        row = session.get(Dataset, dataset_id)
    if row is None:
        raise ApiError(404, f"no dataset {dataset_id!r} (see GET /api/datasets)")
    return row


def all_datasets(ctx: AppContext) -> list[dict[str, Any]]:
    """Every dataset, newest first."""
    with ctx.db.read() as session:
        return [
            dataset_dict(row) for row in session.scalars(select(Dataset).order_by(Dataset.created.desc()))
        ]


def patients(row: Dataset, offset: int, limit: int) -> dict[str, Any]:
    """Manifest rows ``offset`` to ``offset + limit`` with image paths relative to the dataset."""
    table = read_table(Path(row.data_config["manifest"]))
    page = table.iloc[offset : offset + limit].astype(object).where(table.notna(), None)
    return {
        "total": len(table),
        "offset": offset,
        "rows": page.to_dict(orient="records"),
        "image_columns": list(row.data_config.get("images", [])),
    }


def image_file(row: Dataset, relative: str) -> Path:
    """An image of the dataset by its path relative to the manifest's folder; 404 outside it."""
    base = Path(row.data_config["manifest"]).parent.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(Path(row.folder).resolve()) or not path.is_file():
        raise ApiError(404, f"path: no file {relative!r} in dataset {row.id}")
    return path
