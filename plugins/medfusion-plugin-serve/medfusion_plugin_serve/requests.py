"""The two request formats, parsed into :class:`~medfusion_plugin_serve.inputs.PatientRequest`.

- ``POST /v1/predict``, ``multipart/form-data``, one patient: one file part per image, its field
  name the view (the artifact's image column, e.g. ``view1``; repeat a name for several images of
  that view), its file name's extension picks the reader; an optional ``clinical`` part holding a
  JSON object ``{column: value}`` (numbers for numeric columns, strings for categorical ones,
  ``null`` or left out: missing); an optional ``patient_id`` part.
- ``POST /v1/predict/batch``, ``application/json``, one or more patients::

      {"patients": [{"patient_id": "p1",
                     "images": {"view1": {"filename": "a.png", "data": "<base64>"}},
                     "clinical": {"age": 61, "sex": "F"}}]}

  a view's value is one image object or a list of them.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.datastructures import FormData, UploadFile

from medfusion_plugin_serve.errors import RequestError
from medfusion_plugin_serve.inputs import ImagePart, Limits, PatientRequest

_IMAGE = {
    "type": "object",
    "required": ["filename", "data"],
    "properties": {
        "filename": {
            "type": "string",
            "description": "file name; its extension picks the reader (.png, .dcm, ...)",
        },
        "data": {"type": "string", "format": "byte", "description": "the file's bytes, base64"},
    },
}
CLINICAL_SCHEMA = {
    "type": "object",
    "description": "{column: value}: numbers for numeric columns, strings for categorical, null: missing",
    "additionalProperties": {"type": ["number", "string", "null"]},
}
BATCH_SCHEMA = {
    "type": "object",
    "required": ["patients"],
    "properties": {
        "patients": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "patient_id": {"type": "string"},
                    "images": {
                        "type": "object",
                        "description": "view (the artifact's image column) -> one image or a list",
                        "additionalProperties": {"oneOf": [_IMAGE, {"type": "array", "items": _IMAGE}]},
                    },
                    "clinical": CLINICAL_SCHEMA,
                },
            },
        }
    },
}
MULTIPART_SCHEMA = {
    "type": "object",
    "description": "one file part per image, named by its view (the artifact's image column, e.g. view1)",
    "properties": {
        "patient_id": {"type": "string"},
        "clinical": {"type": "string", "description": "JSON object {column: value}"},
    },
    "additionalProperties": {"type": "string", "format": "binary"},
}


async def patient_from_form(form: FormData, limits: Limits) -> PatientRequest:
    """The one patient of a multipart request."""
    images: list[ImagePart] = []
    clinical: Any = {}
    patient_id = None
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read(limits.max_image_bytes + 1)
            images.append(ImagePart(name, value.filename or "", data))
        elif name == "clinical":
            try:
                clinical = json.loads(value)
            except ValueError as exc:
                raise RequestError(422, "clinical", f"not valid JSON ({exc})") from None
        elif name == "patient_id":
            patient_id = value
        else:
            raise RequestError(
                422,
                name,
                "unknown form field; send images as file parts named by view, 'clinical', 'patient_id'",
            )
    return PatientRequest(patient_id, images, clinical)


def patients_from_json(body: bytes, limits: Limits) -> list[PatientRequest]:
    """The patients of a JSON batch request."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise RequestError(400, "body", f"not valid JSON ({exc})") from None
    patients = document.get("patients") if isinstance(document, dict) else None
    if not isinstance(patients, list) or not patients:
        raise RequestError(422, "patients", 'give {"patients": [{"images": {...}, "clinical": {...}}, ...]}')
    if len(patients) > limits.max_patients:
        raise RequestError(
            413, "patients", f"{len(patients)} patients; a request may hold {limits.max_patients}"
        )
    return [_patient(entry, f"patients[{i}]") for i, entry in enumerate(patients)]


def _patient(entry: Any, where: str) -> PatientRequest:
    if not isinstance(entry, dict):
        raise RequestError(422, where, "each patient is an object with images and clinical")
    unknown = sorted(set(entry) - {"patient_id", "images", "clinical"})
    if unknown:
        raise RequestError(422, f"{where}.{unknown[0]}", "unknown field; use patient_id, images, clinical")
    patient_id = entry.get("patient_id")
    if patient_id is not None and not isinstance(patient_id, str):
        raise RequestError(422, f"{where}.patient_id", "give the patient id as a string")
    images = entry.get("images", {})
    if not isinstance(images, dict):
        raise RequestError(422, f"{where}.images", "give the images as an object {view: image or [images]}")
    parts = []
    for view, value in images.items():
        for i, image in enumerate(value if isinstance(value, list) else [value]):
            parts.append(_image(view, image, f"{where}.images.{view}[{i}]"))
    return PatientRequest(patient_id, parts, entry.get("clinical", {}))


def _image(view: str, image: Any, where: str) -> ImagePart:
    if not isinstance(image, dict) or not isinstance(image.get("filename"), str) or "data" not in image:
        raise RequestError(422, where, 'give an image as {"filename": "a.png", "data": "<base64>"}')
    try:
        data = base64.b64decode(image["data"], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise RequestError(422, f"{where}.data", "not valid base64") from None
    return ImagePart(view, image["filename"], data)
