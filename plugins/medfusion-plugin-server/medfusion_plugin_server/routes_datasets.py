"""``/api/datasets``: upload (multipart ``file`` + ``name``), list, detail, patients, previews."""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from PIL import Image, UnidentifiedImageError

from medfusion_plugin_server import answers, datasets
from medfusion_plugin_server.context import context
from medfusion_plugin_server.errors import ApiError
from medfusion_plugin_server.security import Researcher, Viewer

router = APIRouter(prefix="/api/datasets")
PREVIEW_SIZE = 512


@router.post("", status_code=201, response_model=answers.Dataset)
def upload(
    user: Researcher,
    request: Request,
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form()] = "",
    data_config: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    """Upload a .zip or .tar.gz holding manifest.csv and its images; checked before it is kept."""
    label = name or (file.filename or "dataset").split("/")[-1]
    return datasets.create(context(request), file.file, label, user["username"], data_config)


@router.get("", response_model=list[answers.Dataset])
def list_datasets(_: Viewer, request: Request) -> list[dict[str, Any]]:
    """Every uploaded dataset."""
    return datasets.all_datasets(context(request))


@router.get("/{dataset_id}", response_model=answers.Dataset)
def dataset(_: Viewer, dataset_id: str, request: Request) -> dict[str, Any]:
    """Patients, columns, class balance and missing values per column."""
    return datasets.dataset_dict(datasets.get(context(request), dataset_id))


@router.get("/{dataset_id}/patients", response_model=answers.PatientPage)
def patients(
    _: Viewer,
    dataset_id: str,
    request: Request,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """Manifest rows with their image paths."""
    return datasets.patients(datasets.get(context(request), dataset_id), offset, limit)


@router.get("/{dataset_id}/image")
def image(_: Viewer, dataset_id: str, path: str, request: Request) -> Response:
    """A PNG preview (at most 512 px) of one image of the dataset."""
    source = datasets.image_file(datasets.get(context(request), dataset_id), path)
    try:
        with Image.open(source) as picture:
            picture.thumbnail((PREVIEW_SIZE, PREVIEW_SIZE))
            if picture.mode not in ("L", "RGB", "RGBA"):
                picture = picture.convert("L" if picture.mode.startswith(("I", "F")) else "RGB")
            out = io.BytesIO()
            picture.save(out, format="PNG")
    except (UnidentifiedImageError, OSError) as exc:
        raise ApiError(415, f"path: {path!r} cannot be previewed ({exc})") from exc
    return Response(out.getvalue(), media_type="image/png")
