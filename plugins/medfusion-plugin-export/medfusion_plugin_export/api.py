"""Lower-level export API: a given model plus its metadata -> a verified artifact and sidecar.

:func:`export_model` is what the run-based exporters call after loading a run, and what tests
and the conformance checks call on any module with the ``MultimodalModel.forward`` signature.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from medfusion_core.errors import ExportError, MedFusionError
from medfusion_plugin_export.backends import get_backend
from medfusion_plugin_export.backends.base import Backend
from medfusion_plugin_export.diagnose import Derived, describe_failure
from medfusion_plugin_export.metadata import SIDECAR_SUFFIX, sidecar_path, write_sidecar
from medfusion_plugin_export.signature import InputSpec, Traced, input_spec_of, random_inputs
from medfusion_plugin_export.verify import Verification, compare_with_eager

if TYPE_CHECKING:
    import torch
    from torch import nn

#: Batch sizes of the random batches always added to verification (dynamic batch check).
VERIFY_BATCH_SIZES: tuple[int, ...] = (1, 5)
#: Batch size of the example inputs the model is traced with (must be >= 2).
EXAMPLE_BATCH = 2


@attrs.frozen
class ExportResult:
    """A written and verified artifact."""

    artifact: Path
    sidecar: Path
    verification: Verification
    metadata: dict[str, Any]


#: Logger families whose progress and diagnostic output is silenced during an export.
QUIET_LOGGERS = ("torch", "onnxscript", "onnx_ir")


@contextlib.contextmanager
def _quiet_exporters() -> Iterator[None]:
    """Silence the exporters' warnings, logs and the graph dumps torch.export prints to stderr on
    failure; errors still propagate (and are turned into one-line ExportErrors)."""
    # The family roots, and the descendants with a level of their own (the others inherit it):
    # each setLevel clears every logger's cache, so setting thousands of them costs seconds.
    own_level = [
        logger
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
        and logger.level != logging.NOTSET
        and name.split(".")[0] in QUIET_LOGGERS
    ]
    loggers = list({*map(logging.getLogger, QUIET_LOGGERS), *own_level})
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def export_model(
    model: nn.Module,
    out_path: str | Path,
    *,
    fmt: str,
    metadata: Mapping[str, Any],
    input_spec: InputSpec | None = None,
    example_inputs: tuple[torch.Tensor, ...] | None = None,
    held_out: Sequence[tuple[torch.Tensor, ...]] = (),
    component_labels: Mapping[str, str] | None = None,
    derived_inputs: Derived | None = None,
    seed: int = 0,
) -> ExportResult:
    """Export ``model`` to ``out_path`` in format ``fmt`` and verify it against eager PyTorch.

    Args:
        model: a module called as ``model(images, view_mask, clinical, modality_mask)`` returning
            ``[B, num_outputs]``; it is put in eval mode.
        out_path: the artifact file; the sidecar JSON is written beside it as ``<artifact>.json``.
        fmt: ``onnx``, ``pt2`` or ``torchscript``.
        metadata: JSON-serialisable metadata (see :func:`~medfusion_plugin_export.metadata.build_metadata`);
            embedded in the artifact and written to the sidecar with the verification figures.
        input_spec: sample shape used to make random example/verification inputs; defaults to the
            shape of ``example_inputs``.
        example_inputs: the four tensors the model is traced with (batch >= 2); random by default.
        held_out: real batches (four input tensors each) also compared with eager PyTorch, besides
            random batches of 1 and 5 samples that exercise the dynamic batch dimension.
        component_labels: sub-module path -> component name, to name the culprit when export fails.
        derived_inputs: inputs of sub-modules not called through ``forward`` (see
            :func:`~medfusion_plugin_export.diagnose.find_culprit`).
        seed: seed of the random inputs.

    Returns the :class:`ExportResult`; raises :class:`ExportError` (one line, naming the failing
    component or check) when export or verification fails, leaving no artifact behind.
    """
    results = export_formats(
        model,
        {fmt: out_path},
        metadata=metadata,
        input_spec=input_spec,
        example_inputs=example_inputs,
        held_out=held_out,
        component_labels=component_labels,
        derived_inputs=derived_inputs,
        seed=seed,
    )
    return results[fmt]


def export_formats(
    model: nn.Module,
    out_paths: Mapping[str, str | Path],
    *,
    metadata: Mapping[str, Any],
    input_spec: InputSpec | None = None,
    example_inputs: tuple[torch.Tensor, ...] | None = None,
    held_out: Sequence[tuple[torch.Tensor, ...]] = (),
    component_labels: Mapping[str, str] | None = None,
    derived_inputs: Derived | None = None,
    seed: int = 0,
) -> dict[str, ExportResult]:
    """:func:`export_model` for several formats (``{"onnx": path, "pt2": path}``) sharing one
    ``torch.export`` trace of the model; ``metadata["model_card"]["format"]``, when present, is set
    per artifact. Returns the results by format."""
    backends = [get_backend(fmt) for fmt in out_paths]
    if example_inputs is None and input_spec is None:
        raise ExportError("export_model needs input_spec or example_inputs to know the input shapes")
    spec = input_spec or input_spec_of(example_inputs)  # type: ignore[arg-type]
    example = example_inputs if example_inputs is not None else random_inputs(spec, EXAMPLE_BATCH, seed)
    if len(example[0]) < 2:
        raise ExportError("example inputs need a batch of at least 2 so the batch dimension stays dynamic")
    traced = Traced(model, example)
    batches = [*held_out, *(random_inputs(spec, n, seed + n) for n in VERIFY_BATCH_SIZES)]
    diagnosis = _Diagnosis(traced, component_labels or {}, derived_inputs)
    results = {}
    for backend in backends:
        body = _with_format(metadata, backend.format) | {"inputs": spec.to_json()}
        results[backend.format] = _export_one(
            backend, traced, Path(out_paths[backend.format]), body, batches, diagnosis
        )
    return results


def _with_format(metadata: Mapping[str, Any], fmt: str) -> dict[str, Any]:
    """``metadata`` with ``model_card.format`` set to ``fmt`` when it has a model card."""
    body = dict(metadata)
    if isinstance(body.get("model_card"), Mapping):
        body["model_card"] = {**body["model_card"], "format": fmt}
    return body


@attrs.frozen
class _Diagnosis:
    """What naming the culprit of a failed export needs."""

    traced: Traced
    labels: Mapping[str, str]
    derived: Derived | None

    def message(self, backend: Backend, error: BaseException) -> str:
        """The one-line ExportError message for ``error``."""
        return describe_failure(
            backend.format, error, self.traced.model, self.traced.example_inputs, backend.export_component,
            self.labels, self.derived,
        )  # fmt: skip


def _export_one(
    backend: Backend,
    traced: Traced,
    out_path: Path,
    body: dict[str, Any],
    batches: list[tuple[torch.Tensor, ...]],
    diagnosis: _Diagnosis,
) -> ExportResult:
    """Write, check, load and verify one artifact, then its sidecar; nothing is left on failure."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sidecar = sidecar_path(out_path)
    try:
        with _quiet_exporters():
            try:
                backend.save(traced, out_path, json.dumps(body, sort_keys=True))
            except MedFusionError:
                raise
            except Exception as exc:
                raise ExportError(diagnosis.message(backend, exc)) from exc
            runner, checks = backend.open(out_path)
            verification = compare_with_eager(backend.format, traced.model, runner, batches, checks=checks)
    except BaseException:
        _remove(out_path, sidecar)
        raise
    full = {**body, "verification": verification.to_json()}
    write_sidecar(sidecar, full)
    return ExportResult(out_path, sidecar, verification, full)


__all__ = ["SIDECAR_SUFFIX", "ExportResult", "export_formats", "export_model"]
