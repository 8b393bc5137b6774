"""Clinical tabular preprocessing, fitted on the training split only and saved as plain JSON.

Output columns, in order:

1. every numeric column: missing values replaced by the training median (0.0 when the column
   has no value in training), then standardised with the mean and population standard deviation
   (ddof 0; 1.0 when it is 0) of the imputed training column;
2. ``<column>_missing`` indicators (1.0 where the value was missing), for the numeric columns
   that had at least one missing value in training;
3. one-hot ``<column>=<category>`` for each categorical column and each category seen in
   training (sorted); a missing or unseen category gives all zeros.

This equals scikit-learn's ``SimpleImputer(strategy="median", add_indicator=True)`` followed by
``StandardScaler`` on the numeric part and ``OneHotEncoder(handle_unknown="ignore")``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from medfusion_core.errors import DataError

FORMAT_VERSION = 1


@attrs.frozen
class TabularPreprocessor:
    """Fitted clinical preprocessing; build it with :meth:`fit`, apply it with :meth:`transform`."""

    numeric: list[str]
    categorical: list[str]
    medians: list[float]
    means: list[float]
    stds: list[float]
    indicators: list[str]
    categories: dict[str, list[str]]

    @classmethod
    def fit(
        cls, frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]
    ) -> TabularPreprocessor:
        """Fit on ``frame`` (training rows only; numeric columns as float with NaN)."""
        medians, means, stds, indicators = [], [], [], []
        for column in numeric:
            values = frame[column].to_numpy(dtype=np.float64)
            observed = values[~np.isnan(values)]
            median = float(np.median(observed)) if observed.size else 0.0
            imputed = np.where(np.isnan(values), median, values)
            std = float(imputed.std()) if imputed.size else 0.0
            medians.append(median)
            means.append(float(imputed.mean()) if imputed.size else 0.0)
            stds.append(std if std > 0 else 1.0)
            if observed.size < values.size:
                indicators.append(column)
        categories = {
            column: sorted({str(v) for v in frame[column] if not _missing(v)}) for column in categorical
        }
        return cls(list(numeric), list(categorical), medians, means, stds, indicators, categories)

    @property
    def feature_names(self) -> list[str]:
        """Names of the output columns, in order."""
        return (
            list(self.numeric)
            + [f"{c}_missing" for c in self.indicators]
            + [f"{c}={v}" for c in self.categorical for v in self.categories[c]]
        )

    @property
    def num_features(self) -> int:
        """Width of the output vector."""
        return len(self.feature_names)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The float32 matrix ``[N, num_features]`` for the rows of ``frame``."""
        missing = [c for c in (*self.numeric, *self.categorical) if c not in frame.columns]
        if missing:
            raise DataError(
                f"clinical data lacks column(s) {', '.join(missing)} that the preprocessing was fitted on"
            )
        parts: list[np.ndarray] = []
        if self.numeric:
            values = frame[self.numeric].to_numpy(dtype=np.float64)
            imputed = np.where(np.isnan(values), np.asarray(self.medians), values)
            parts.append((imputed - np.asarray(self.means)) / np.asarray(self.stds))
        for column in self.indicators:
            parts.append(np.isnan(frame[column].to_numpy(dtype=np.float64))[:, None].astype(np.float64))
        for column in self.categorical:
            cells = np.array(["" if _missing(v) else str(v) for v in frame[column]], dtype=object)
            known = np.array(self.categories[column], dtype=object)
            parts.append((cells[:, None] == known[None, :]).astype(np.float64))
        if not parts:
            return np.zeros((len(frame), 0), dtype=np.float32)
        return np.concatenate(parts, axis=1).astype(np.float32)

    def unseen_categories(self, frame: pd.DataFrame) -> dict[str, dict[str, int]]:
        """Per categorical column, the values of ``frame`` never seen in training and how many rows
        hold each (they encode as all zeros, like a missing value); columns without any are left out."""
        unseen: dict[str, dict[str, int]] = {}
        for column in self.categorical:
            known = set(self.categories[column])
            values = [str(v) for v in frame[column] if not _missing(v) and str(v) not in known]
            if values:
                unseen[column] = {value: values.count(value) for value in sorted(set(values))}
        return unseen

    def encode(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """``(clinical, present)`` for the rows of ``frame``: the :meth:`transform` matrix with
        all-zero rows where the clinical modality is absent, and the bool presence vector."""
        present = clinical_present(frame, [*self.numeric, *self.categorical])
        clinical = self.transform(frame)
        clinical[~present] = 0.0
        return clinical, present

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form saved with the run and inside exports."""
        return {"format": FORMAT_VERSION, **attrs.asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | str) -> TabularPreprocessor:
        """Rebuild from :meth:`to_json` output (a dict or its JSON text)."""
        if isinstance(data, str):
            data = json.loads(data)
        if data.get("format") != FORMAT_VERSION:
            raise DataError(
                f"tabular preprocessing has format {data.get('format')!r}; expected {FORMAT_VERSION}"
            )
        fields = {f.name for f in attrs.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in fields})


def clinical_present(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Boolean ``[N]``: True where a row has at least one value in ``columns`` (the clinical
    modality is present); all False when there are no clinical columns."""
    if not columns:
        return np.zeros(len(frame), dtype=bool)
    return ~frame[list(columns)].map(_missing).to_numpy().all(axis=1)


def _missing(value: object) -> bool:
    """Whether a cell is missing (None, NaN or empty text)."""
    if value is None:
        return True
    if isinstance(value, float):
        return bool(np.isnan(value))
    return isinstance(value, str) and not value.strip()
