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
from medfusion_core.data.problems import raise_problems
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


def _missing_columns(table: pd.DataFrame, config: DataConfig, require_label: bool) -> list[str]:
    """The columns the config names that the manifest lacks."""
    wanted = [config.patient_id, *config.images, *config.numeric, *config.categorical]
    wanted += [config.label] if require_label else []
    wanted += [c for c in (config.split, config.mask) if c] + list(config.subgroups)
    return [c for c in dict.fromkeys(wanted) if c not in table.columns]


def _numeric(table: pd.DataFrame, column: str, problems: list[str]) -> pd.Series:
    """``column`` as floats (missing: NaN); every cell that is not a number is a problem."""
    text = table[column].map(_text)
    values = pd.to_numeric(text, errors="coerce")
    for row in np.flatnonzero((text.notna() & values.isna()).to_numpy()):
        problems.append(
            f"row {row + 1}, column {column!r}: {table[column].iloc[row]!r} is not a number; "
            "leave the cell empty for a missing value or list the column under data.categorical"
        )
    return values.astype(float)


def _resolve(cell: str, base: Path, row: int, column: str, problems: list[str]) -> str | None:
    """The absolute path of a file cell, ``None`` (and a problem) when the file is missing."""
    image = Path(cell).expanduser()
    image = image if image.is_absolute() else base / image
    if not image.is_file():
        problems.append(f"row {row + 1}, column {column!r}: file {image} not found; fix the path")
        return None
    return str(image)


@attrs.frozen
class _View:
    """One present view of a row: its column, image file and lesion-mask file."""

    column: str
    image: str | None
    mask: str | None


def _row_views(table: pd.DataFrame, config: DataConfig, base: Path, problems: list[str]) -> list[list[_View]]:
    """Per row, the views of its non-empty image cells (the image columns the manifest has);
    a missing image or mask file is a problem."""
    images = [c for c in config.images if c in table.columns]
    mask_cells = _cells(table, config.mask) if config.mask in table.columns else None
    result = []
    for row in range(len(table)):
        mask_cell = mask_cells[row] if mask_cells is not None else None
        mask_parts = mask_cell.split(MASK_SEPARATOR) if mask_cell else []
        views = []
        for position, column in enumerate(config.images):
            cell = _text(table[column].iloc[row]) if column in images else None
            if cell is None:
                continue
            part = mask_parts[position].strip() if position < len(mask_parts) else ""
            image = _resolve(cell, base, row, column, problems)
            mask = _resolve(part, base, row, str(config.mask), problems) if part else None
            views.append(_View(column, image, mask))
        result.append(views)
    return result


def load_manifest(config: DataConfig, *, require_label: bool = True) -> Manifest:
    """Read and validate the manifest named by ``config`` and group it by patient.

    Every problem (missing columns, empty patient ids, cells that are not numbers, missing image
    and mask files, missing or conflicting labels, unknown or conflicting splits) is collected
    and raised at once as one :class:`DataError` naming the row (1-based data row, header not
    counted) and column of each. With ``require_label=False`` (prediction on unlabelled data) the
    label column may be absent; ``labels`` then holds ``None`` for every patient.
    """
    path = Path(config.manifest)
    table = read_table(path).reset_index(drop=True)
    if table.empty:
        raise DataError(
            f"{path}: the manifest has a header but no data rows; add one row per image "
            f"(columns: {', '.join(map(str, table.columns))})"
        )
    problems: list[str] = []
    missing = _missing_columns(table, config, require_label)
    if missing:
        problems.append(
            f"missing column(s) {', '.join(missing)}; the manifest has: {', '.join(map(str, table.columns))}"
        )
    has = set(table.columns)
    if config.patient_id in has:
        ids = [_text(cell) for cell in table[config.patient_id]]
        for row in (r for r, patient in enumerate(ids) if patient is None):
            problems.append(f"row {row + 1}, column {config.patient_id!r}: empty patient id")
    else:  # each row stands alone, so that the other columns are still checked
        ids = [f"row {row + 1}" for row in range(len(table))]
    numeric = {c: _numeric(table, c, problems) for c in config.numeric if c in has}
    row_views = _row_views(table, config, path.parent, problems)
    order: dict[str, list[int]] = {}
    for row, patient in enumerate(ids):
        if patient is not None:
            order.setdefault(patient, []).append(row)
    if require_label and config.label in has:
        labels = _per_patient(table, config.label, order, problems)
    else:
        labels = np.full(len(order), None, dtype=object)
    splits = _splits(table, config.split, order, problems) if config.split in has else None
    rows_named = not all(problem.startswith("missing column(s)") for problem in problems)
    raise_problems(path, problems, "manifest", rows=rows_named)
    first_rows = [rows[0] for rows in order.values()]
    grouped = [[view for row in rows for view in row_views[row]] for rows in order.values()]
    sources = [[(row + 1, view.column) for row in rows for view in row_views[row]] for rows in order.values()]
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
        views=[[str(view.image) for view in views] for views in grouped],
        masks=[[view.mask for view in views] for views in grouped],
        clinical=clinical,
        labels=labels,
        splits=splits,
        subgroups=subgroups,
        sources=sources,
    )


def _per_patient(
    table: pd.DataFrame, column: str, order: dict[str, list[int]], problems: list[str]
) -> np.ndarray:
    """One value of ``column`` per patient; a patient without one, or whose rows disagree, is a
    problem."""
    cells = _cells(table, column)
    values = np.empty(len(order), dtype=object)
    for index, (patient, rows) in enumerate(order.items()):
        seen = {cells[r] for r in rows if cells[r] is not None}
        if not seen:
            problems.append(f"row {rows[0] + 1}, column {column!r}: missing value for patient {patient!r}")
        elif len(seen) > 1:
            problems.append(
                f"column {column!r}: patient {patient!r} has conflicting values {sorted(seen)} "
                f"(rows {', '.join(str(r + 1) for r in rows)}); use one value per patient"
            )
        values[index] = seen.pop() if len(seen) == 1 else None  # else a problem is raised
    return values


def _splits(table: pd.DataFrame, column: str, order: dict[str, list[int]], problems: list[str]) -> list[str]:
    """The canonical split of each patient; unknown names and patients in two splits are problems."""
    cells = _cells(table, column)
    canonical = []
    for row, cell in enumerate(cells):
        if cell is None or cell.lower() not in SPLIT_NAMES:
            problems.append(
                f"row {row + 1}, column {column!r}: unknown split {cell!r}; use train, val or test"
            )
        canonical.append(SPLIT_NAMES.get((cell or "").lower()))
    result = []
    for patient, rows in order.items():
        names = sorted({canonical[r] for r in rows if canonical[r] is not None})
        if len(names) > 1:
            problems.append(
                f"column {column!r}: patient {patient!r} is in several splits ({', '.join(names)}, "
                f"rows {', '.join(str(r + 1) for r in rows)}); a patient must be in one split only"
            )
        result.append(names[0] if names else "")  # no valid split: a problem is raised
    return result
