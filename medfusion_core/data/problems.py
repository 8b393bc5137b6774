"""Every problem of one input file reported at once: one :class:`DataError` that lists them.

The manifest loader (:mod:`medfusion_core.data.manifest`) and the file check
(:mod:`medfusion_core.data.checks`) collect problems as one-line strings (``row R, column 'C':
what is wrong``) and raise them together, so that a user fixes everything in one round.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from medfusion_core.errors import DataError

#: How rows are counted in every message that names a manifest row.
ROW_NOTE = "1-based data row, header not counted"


def raise_problems(path: Path, problems: Sequence[str], what: str, *, rows: bool = True) -> None:
    """Raise one :class:`DataError` for ``path`` listing every problem (nothing when there are
    none): one line for one problem, else a first line with the count of ``what`` problems and
    one indented line per problem. ``rows`` adds how rows are counted (:data:`ROW_NOTE`)."""
    if not problems:
        return
    note = f" (rows: {ROW_NOTE})" if rows else ""
    if len(problems) == 1:
        raise DataError(f"{path}: {problems[0]}{note}")
    lines = "\n".join(f"  {problem}" for problem in problems)
    raise DataError(f"{path}: {len(problems)} {what} problem(s){note}:\n{lines}")
