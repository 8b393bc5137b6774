"""Checking every file a manifest names before anything trains: ``medfusion validate --data`` and
``medfusion train`` (before its first step) decode each view and lesion mask of every split once
and list every problem at once.

Each file is decoded with its registered reader (PNG through the active ``decode_png`` kernel, the
native one when installed, which decodes without the GIL) in a thread pool, and checked against
``data.image`` with the same :func:`~medfusion_core.data.samples.fit_view` the loaders use:
truncated or undecodable files, unreadable DICOM transfer syntaxes, a 3D volume in a 2D config and
channel counts that ``data.image.color`` does not resolve are found here, not an hour into training.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import attrs

from medfusion_core.config import ImageConfig
from medfusion_core.data.manifest import Manifest
from medfusion_core.data.readers import read_image
from medfusion_core.data.samples import fit_view
from medfusion_core.errors import DataError
from medfusion_core.viewops import binary_mask

#: How rows are counted in every message of this module.
ROW_NOTE = "1-based data row, header not counted"


@attrs.frozen
class FileCheck:
    """One file to check: where the manifest names it, and whether it is a lesion mask."""

    row: int
    column: str
    path: str
    split: str | None
    mask: bool


def files_to_check(
    manifest: Manifest, mask_column: str | None, splits: Sequence[str] | None = None
) -> list[FileCheck]:
    """Every view and lesion mask of every patient of ``manifest``, in manifest order, with each
    patient's split (``splits``, else the manifest's split column, when known)."""
    splits = splits if splits is not None else manifest.splits
    checks = []
    for index, views in enumerate(manifest.views):
        split = str(splits[index]) if splits is not None else None
        for position, path in enumerate(views):
            row, column = manifest.sources[index][position]
            checks.append(FileCheck(row, column, path, split, mask=False))
            mask = manifest.masks[index][position]
            if mask is not None:
                checks.append(FileCheck(row, mask_column or "mask", mask, split, mask=True))
    return checks


def _problem(check: FileCheck, image: ImageConfig) -> str | None:
    """The one-line problem of ``check``'s file, or ``None`` when it decodes and fits."""
    where = f"row {check.row}, column {check.column!r}" + (f" ({check.split} split)" if check.split else "")
    try:
        array = read_image(check.path)
        if check.mask:
            binary_mask(array, len(image.size))
        else:
            fit_view(array, image, check.path)
    except DataError as exc:
        message = str(exc)
        return (
            f"{where}: {message}" if message.startswith(check.path) else f"{where}: {check.path}: {message}"
        )
    except Exception as exc:  # a reader that raises something else still names the file
        return f"{where}: {check.path}: cannot read ({type(exc).__name__}: {exc})"
    return None


def check_files(
    manifest: Manifest,
    image: ImageConfig,
    mask_column: str | None = None,
    *,
    splits: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> list[str]:
    """Decode and check every file of ``manifest`` in a thread pool; returns one line per problem
    (``row R, column 'C': FILE: what is wrong``), in manifest order. ``progress(done, total)`` is
    called after each file."""
    checks = files_to_check(manifest, mask_column, splits)
    problems: list[str | None] = [None] * len(checks)
    pool_size = workers or min(16, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="medfusion-check") as pool:
        futures = [pool.submit(_problem, check, image) for check in checks]
        for done, (position, future) in enumerate(enumerate(futures), start=1):
            problems[position] = future.result()
            if progress is not None:
                progress(done, len(checks))
    return [problem for problem in problems if problem is not None]


def raise_for_problems(manifest: Manifest, problems: list[str]) -> None:
    """Raise one :class:`DataError` listing every problem (``ROW_NOTE`` says how rows count): one
    line for one problem, else a first line with the count and one line per problem."""
    if len(problems) == 1:
        raise DataError(f"{manifest.path}: {problems[0]} (rows: {ROW_NOTE})")
    if problems:
        lines = "\n".join(f"  {problem}" for problem in problems)
        raise DataError(f"{manifest.path}: {len(problems)} file problem(s) (rows: {ROW_NOTE}):\n{lines}")
