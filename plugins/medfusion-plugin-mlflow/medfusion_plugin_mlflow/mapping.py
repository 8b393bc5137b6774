"""How MedFusion's run events map onto MLflow's entities, within MLflow's limits.

Pure functions on plain values (MLflow itself is not imported here):

- the resolved config and logged params become MLflow params with dotted keys;
- the lineage, the run folder, the data fingerprint and artifact paths become tags under
  ``medfusion.``; the git commit also becomes MLflow's own ``mlflow.source.git.commit``;
- statuses map to MLflow's ``RUNNING`` / ``FINISHED`` / ``FAILED`` / ``KILLED``;
- metric points keep their step and get millisecond timestamps.

Keys keep only the characters MLflow accepts (others become ``_``) and at most 250 characters (a
longer one keeps its start and a short hash of the whole, so two long keys stay apart); values are
cut to MLflow's length limits with a trailing ``...``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from medfusion_core.kinds.tracker import MetricPoint, flatten

#: MLflow's limits (``mlflow.utils.validation``): key length, param and tag value lengths, and
#: the entities one ``log_batch`` call takes.
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100

#: MedFusion's statuses as MLflow's ``RunStatus`` names.
STATUS: dict[str, str] = {
    "running": "RUNNING",
    "finished": "FINISHED",
    "failed": "FAILED",
    "killed": "KILLED",
}

#: Tag naming the MedFusion run an MLflow run mirrors (found again on ``--resume``).
RUN_ID_TAG = "medfusion.run_id"
ARTIFACT_TAG_PREFIX = "medfusion.artifact."

_UNSAFE = re.compile(r"[^\w\-. /]")
_ELLIPSIS = "..."


def safe_key(key: str) -> str:
    """``key`` with the characters MLflow rejects replaced by ``_``, at most 250 characters."""
    cleaned = _UNSAFE.sub("_", str(key)) or "_"
    if len(cleaned) <= MAX_KEY_LENGTH:
        return cleaned
    digest = hashlib.sha256(cleaned.encode()).hexdigest()[:12]
    return f"{cleaned[: MAX_KEY_LENGTH - len(digest) - 1]}~{digest}"


def as_text(value: Any, limit: int) -> str:
    """``value`` as MLflow stores it (strings as they are, anything else as JSON), cut to ``limit``."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - len(_ELLIPSIS)] + _ELLIPSIS


def params(values: Mapping[str, Any]) -> dict[str, str]:
    """Flattened MLflow params: safe keys, values as text within 6000 characters."""
    return {safe_key(key): as_text(value, MAX_PARAM_VALUE_LENGTH) for key, value in flatten(values).items()}


def tags(values: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """Flattened MLflow tags under ``prefix``: safe keys, values as text within 8000 characters."""
    return {
        safe_key(f"{prefix}{key}"): as_text(value, MAX_TAG_VALUE_LENGTH)
        for key, value in flatten(values).items()
    }


def run_tags(
    run_id: str, run_dir: str, data_fingerprint: str | None, lineage: Mapping[str, Any]
) -> dict[str, str]:
    """The tags of a new MLflow run: the MedFusion run id and folder, the data fingerprint, the
    lineage under ``medfusion.lineage.``, and the git commit as MLflow's source tag."""
    found = {RUN_ID_TAG: run_id, "medfusion.run_dir": as_text(run_dir, MAX_TAG_VALUE_LENGTH)}
    if data_fingerprint:
        found["medfusion.data_fingerprint"] = data_fingerprint
    found.update(tags(lineage, "medfusion.lineage."))
    git = lineage.get("git")
    if isinstance(git, Mapping) and git.get("commit"):
        found["mlflow.source.git.commit"] = str(git["commit"])
    return found


def artifact_tag(path: str) -> str:
    """The tag key recording one file of the run folder (its value is the artifact's kind)."""
    return safe_key(f"{ARTIFACT_TAG_PREFIX}{path}")


def metric_rows(points: Sequence[MetricPoint]) -> list[tuple[str, float, int, int]]:
    """Metric points as MLflow metric fields ``(key, value, timestamp_ms, step)``."""
    return [
        (safe_key(key), float(value), round(timestamp * 1000), int(step))
        for key, value, step, timestamp in points
    ]


def model_ref(ref: str) -> tuple[str | None, int | None, str | None]:
    """``(name, version, alias)`` of ``NAME/N`` or ``NAME@alias``; ``(None, None, None)`` for
    anything else (a run folder, a bare name)."""
    if "@" in ref:
        name, _, alias = ref.partition("@")
        return (name, None, alias) if name and alias else (None, None, None)
    name, _, version = ref.rpartition("/")
    return (name, int(version), None) if name and version.isdigit() else (None, None, None)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``items`` in consecutive slices of at most ``size`` (one ``log_batch`` call each)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
