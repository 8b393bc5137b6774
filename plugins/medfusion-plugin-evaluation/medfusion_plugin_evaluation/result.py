"""Plain-data results: attrs classes that turn into JSON-ready dicts.

:func:`to_plain` converts attrs instances, numpy arrays and scalars into Python lists, dicts,
floats and ints; ``nan`` and infinities become ``None`` so the output is valid JSON. Fields
declared with ``metadata={"serialize": False}`` (bootstrap resamples kept for paired
comparisons) are left out.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

#: attrs field metadata that keeps a field out of :meth:`Result.to_dict`.
INTERNAL = {"serialize": False}


def to_plain(value: Any) -> Any:
    """``value`` as JSON-ready plain data (dicts, lists, str, int, float, bool, None)."""
    if attrs.has(type(value)):
        return {
            field.name: to_plain(getattr(value, field.name))
            for field in attrs.fields(type(value))
            if field.metadata.get("serialize", True)
        }
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist())
    if isinstance(value, np.generic):
        return to_plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Result:
    """Mixin for attrs result classes: :meth:`to_dict` gives JSON-ready plain data."""

    def to_dict(self) -> dict[str, Any]:
        """This result as a JSON-ready dict (nan becomes ``None``)."""
        return to_plain(self)
