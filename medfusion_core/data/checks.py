"""Checking every file a manifest names before anything trains: ``medfusion validate --data`` and
``medfusion train`` (before its first step) decode each view and lesion mask of every split once
and list every problem at once.

PNG files whose reader allows the ``decode_png`` kernel go to the ``probe_pngs`` kernel in chunks
of :data:`CHUNK`: the native accelerator decodes a chunk in parallel on its own thread pool
(without the GIL), the core's reference decodes it in the calling thread. Chunks and every other
file (DICOM, NIfTI, ... through their registered readers) run in a thread pool, so without the
accelerator the check still decodes in parallel threads. Each file's shape is checked against
``data.image`` with the same :func:`~medfusion_core.data.samples.check_view` the loaders use:
truncated or undecodable files, unreadable DICOM transfer syntaxes, a 3D volume in a 2D config and
channel counts that ``data.image.color`` does not resolve are found here, not an hour into training.
A file the kernel cannot decode is read again with its reader, whose error names what is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed

import attrs

from medfusion_core.config import ImageConfig
from medfusion_core.data.manifest import Manifest
from medfusion_core.data.problems import raise_problems
from medfusion_core.data.readers import png_kernel_reads, read_image
from medfusion_core.data.samples import check_view, fit_view
from medfusion_core.errors import DataError
from medfusion_core.kernels import get_kernel
from medfusion_core.viewops import binary_mask

#: PNG files per ``probe_pngs`` call (the progress bar moves once per chunk).
CHUNK = 32


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


def _located(check: FileCheck, exc: BaseException) -> str:
    """The one-line problem of ``check``'s file from the error ``exc`` its reading raised."""
    where = f"row {check.row}, column {check.column!r}" + (f" ({check.split} split)" if check.split else "")
    if not isinstance(exc, DataError):  # a reader that raises something else still names the file
        return f"{where}: {check.path}: cannot read ({type(exc).__name__}: {exc})"
    message = str(exc)
    return f"{where}: {message}" if message.startswith(check.path) else f"{where}: {check.path}: {message}"


def _problem(check: FileCheck, image: ImageConfig) -> str | None:
    """Read ``check``'s file with its reader: its one-line problem, or ``None`` when it decodes
    and fits."""
    try:
        array = read_image(check.path)
        if check.mask:
            binary_mask(array, len(image.size))
        else:
            fit_view(array, image, check.path)
    except Exception as exc:
        return _located(check, exc)
    return None


def _probe(checks: Sequence[FileCheck], image: ImageConfig) -> list[str | None]:
    """The problems of a chunk of PNG files decoded by the ``probe_pngs`` kernel (a file it cannot
    decode is read again for the reader's message)."""
    shapes = get_kernel("probe_pngs")([check.path for check in checks])
    problems: list[str | None] = []
    for check, shape in zip(checks, shapes, strict=True):
        if shape is None:
            problems.append(_problem(check, image))
            continue
        try:
            if not check.mask:
                check_view(shape, image, check.path)
            problems.append(None)
        except DataError as exc:
            problems.append(_located(check, exc))
    return problems


def check_files(
    manifest: Manifest,
    image: ImageConfig,
    mask_column: str | None = None,
    *,
    splits: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> list[str]:
    """Decode and check every file of ``manifest`` (see the module docstring); returns one line
    per problem (``row R, column 'C': FILE: what is wrong``), in manifest order.
    ``progress(done, total)`` is called as chunks and files finish."""
    checks = files_to_check(manifest, mask_column, splits)
    pngs = [index for index, check in enumerate(checks) if png_kernel_reads(check.path)]
    others = sorted(set(range(len(checks))) - set(pngs))
    problems: list[str | None] = [None] * len(checks)
    pool_size = workers or min(16, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="medfusion-check") as pool:
        tasks: dict[Future[list[str | None]], list[int]] = {}
        for start in range(0, len(pngs), CHUNK):
            chunk = pngs[start : start + CHUNK]
            tasks[pool.submit(_probe, [checks[i] for i in chunk], image)] = chunk
        for index in others:
            tasks[pool.submit(lambda check: [_problem(check, image)], checks[index])] = [index]
        done = 0
        for future in as_completed(tasks):
            for index, problem in zip(tasks[future], future.result(), strict=True):
                problems[index] = problem
            done += len(tasks[future])
            if progress is not None:
                progress(done, len(checks))
    return [problem for problem in problems if problem is not None]


def raise_for_problems(manifest: Manifest, problems: list[str]) -> None:
    """Raise one :class:`DataError` listing every file problem of ``manifest`` (see
    :func:`~medfusion_core.data.problems.raise_problems`; rows counted as its ``ROW_NOTE`` says)."""
    raise_problems(manifest.path, problems, "file")
