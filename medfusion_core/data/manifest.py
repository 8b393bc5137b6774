"""The dataset manifest (CSV or Parquet): reading, grouping by patient and validation.

One or more rows per patient. Each row may name one image per image column (an empty cell is a
missing view); a patient's views are the non-empty image cells of its rows, in row then column
order. The lesion-mask column (optional) holds one path per image column of its row, separated
by ``;`` (an empty entry: no mask for that view). Clinical values, label, split and subgroups are
taken from the patient's first row; the label and split must agree across a patient's rows.
Relative paths are resolved against the manifest's folder. Errors name the file, the row
(1-based data row, header excluded) and the column.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import pandas as pd

from medfusion_core.config import DataConfig
from medfusion_core.errors import DataError

#: Accepted split names and their canonical spelling.
SPLIT_NAMES: dict[str, str] = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}

MASK_SEPARATOR = ";"


@attrs.frozen
class Manifest:
    """A validated manifest grouped by patient (index ``i`` is the same patient everywhere).

    Attributes:
        path: the manifest file.
        patients: unique patient ids, in order of first appearance.
        rows: the 1-based data row of each patient's first row.
        views: per patient, absolute image paths of the present views.
        masks: per patient, the lesion-mask path of each view (``None``: no mask).
        clinical: one row per patient (index: patient id) with the numeric columns as float
            (missing: NaN) and categorical columns as str or missing.
        labels: the raw label of each patient (object array; ``None`` when not required).
        splits: the canonical split name of each patient, or ``None`` without a split column.
        subgroups: one row per patient with the subgroup columns.
        sources: per patient, the ``(1-based data row, column)`` each view comes from.
    """

    path: Path
    patients: list[str]
    rows: list[int]
    views: list[list[str]]
    masks: list[list[str | None]]
    clinical: pd.DataFrame
    labels: np.ndarray
    splits: list[str] | None
    subgroups: pd.DataFrame
    sources: list[list[tuple[int, str]]] = attrs.field(factory=list)

    @property
    def max_views(self) -> int:
        """The largest number of views of any patient (at least 1): the batch's ``V``."""
        return max([1, *(len(v) for v in self.views)])

    def __len__(self) -> int:
        return len(self.patients)


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet table with every column as text (missing cells: NaN)."""
    if not path.is_file():
        raise DataError(f"{path}: manifest not found; check data.manifest in the config")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            table = pd.read_parquet(path)
            return table.astype(object).where(table.notna(), np.nan)
        if suffix in (".csv", ".tsv", ".txt"):
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: the manifest is empty (no header, no rows); write a header line and one row per image"
        ) from None
    except Exception as exc:  # pandas/pyarrow raise many types for bad files
        reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        raise DataError(f"{path}: cannot read the manifest ({reason})") from None
    raise DataError(f"{path}: unsupported manifest type {suffix!r}; use .csv, .tsv or .parquet")


def _text(value: object) -> str | None:
    """A cell as stripped text, or ``None`` when empty or missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _cells(table: pd.DataFrame, column: str) -> np.ndarray:
    """The cells of ``column`` as stripped text, ``None`` where empty (object array)."""
    return np.array([_text(v) for v in table[column]], dtype=object)


def _check_columns(table: pd.DataFrame, config: DataConfig, path: Path, require_label: bool) -> None:
    wanted = [config.patient_id, *config.images, *config.numeric, *config.categorical]
    wanted += [config.label] if require_label else []
    wanted += [c for c in (config.split, config.mask) if c] + list(config.subgroups)
    missing = [c for c in dict.fromkeys(wanted) if c not in table.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; "
            f"the manifest has: {', '.join(map(str, table.columns))}"
        )


def _numeric(table: pd.DataFrame, column: str, path: Path) -> pd.Series:
    values = pd.to_numeric(table[column].map(_text), errors="coerce")
    bad = table[column].map(_text).notna() & values.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path}: row {row + 1}, column {column!r}: {table[column].iloc[row]!r} is not a number; "
            "leave the cell empty for a missing value or list the column under data.categorical"
        )
    return values.astype(float)


def _resolve(cell: str, base: Path, path: Path, row: int, column: str) -> str:
    image = Path(cell).expanduser()
    image = image if image.is_absolute() else base / image
    if not image.is_file():
        raise DataError(f"{path}: row {row + 1}, column {column!r}: file {image} not found; fix the path")
    return str(image)


def load_manifest(config: DataConfig, *, require_label: bool = True) -> Manifest:
    """Read and validate the manifest named by ``config`` and group it by patient.

    With ``require_label=False`` (prediction on unlabelled data) the label column may be absent;
    ``labels`` then holds ``None`` for every patient.
    """
    path = Path(config.manifest)
    table = read_table(path).reset_index(drop=True)
    if table.empty:
        raise DataError(
            f"{path}: the manifest has a header but no data rows; add one row per image "
            f"(columns: {', '.join(map(str, table.columns))})"
        )
    _check_columns(table, config, path, require_label)
    base = path.parent
    ids = table[config.patient_id].map(_text)
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise DataError(f"{path}: row {row + 1}, column {config.patient_id!r}: empty patient id")
    numeric = {c: _numeric(table, c, path) for c in config.numeric}
    order: dict[str, list[int]] = {}
    for row, patient in enumerate(ids):
        order.setdefault(patient, []).append(row)
    first_rows = [rows[0] for rows in order.values()]
    views, masks, sources = [], [], []
    for rows in order.values():
        patient_views, patient_masks, patient_sources = [], [], []
        for row in rows:
            mask_cell = _text(table[config.mask].iloc[row]) if config.mask else None
            mask_parts = mask_cell.split(MASK_SEPARATOR) if mask_cell else []
            for position, column in enumerate(config.images):
                cell = _text(table[column].iloc[row])
                if cell is None:
                    continue
                patient_views.append(_resolve(cell, base, path, row, column))
                patient_sources.append((row + 1, column))
                part = mask_parts[position].strip() if position < len(mask_parts) else ""
                patient_masks.append(_resolve(part, base, path, row, config.mask) if part else None)
        views.append(patient_views)
        masks.append(patient_masks)
        sources.append(patient_sources)
    if require_label:
        labels = _per_patient(table, config.label, order, path)
    else:
        labels = np.full(len(order), None, dtype=object)
    splits = _splits(table, config.split, order, path) if config.split else None
    clinical = pd.DataFrame(
        {
            **{c: numeric[c].to_numpy()[first_rows] for c in config.numeric},
            **{c: _cells(table, c)[first_rows] for c in config.categorical},
        },
        index=pd.Index(list(order), name=config.patient_id),
    )
    subgroups = pd.DataFrame(
        {c: _cells(table, c)[first_rows] for c in config.subgroups},
        index=clinical.index,
    )
    return Manifest(
        path=path,
        patients=list(order),
        rows=[r + 1 for r in first_rows],
        views=views,
        masks=masks,
        clinical=clinical,
        labels=labels,
        splits=splits,
        subgroups=subgroups,
        sources=sources,
    )


def _per_patient(table: pd.DataFrame, column: str, order: dict[str, list[int]], path: Path) -> np.ndarray:
    """One value of ``column`` per patient; every patient needs one and its rows must agree."""
    cells = _cells(table, column)
    values = np.empty(len(order), dtype=object)
    for index, (patient, rows) in enumerate(order.items()):
        seen = {cells[r] for r in rows if cells[r] is not None}
        if not seen:
            raise DataError(
                f"{path}: row {rows[0] + 1}, column {column!r}: missing value for patient {patient!r}"
            )
        if len(seen) > 1:
            raise DataError(
                f"{path}: column {column!r}: patient {patient!r} has conflicting values "
                f"{sorted(seen)} (rows {', '.join(str(r + 1) for r in rows)}); use one value per patient"
            )
        values[index] = next(iter(seen))
    return values


def _splits(table: pd.DataFrame, column: str, order: dict[str, list[int]], path: Path) -> list[str]:
    """The canonical split of each patient; unknown names and patients in two splits fail."""
    cells = _cells(table, column)
    for row, cell in enumerate(cells):
        if cell is None or cell.lower() not in SPLIT_NAMES:
            raise DataError(
                f"{path}: row {row + 1}, column {column!r}: unknown split {cell!r}; use train, val or test"
            )
    canonical = [SPLIT_NAMES[c.lower()] for c in cells]
    result = []
    for patient, rows in order.items():
        names = sorted({canonical[r] for r in rows})
        if len(names) > 1:
            raise DataError(
                f"{path}: column {column!r}: patient {patient!r} is in several splits ({', '.join(names)}, "
                f"rows {', '.join(str(r + 1) for r in rows)}); a patient must be in one split only"
            )
        result.append(names[0])
    return result
