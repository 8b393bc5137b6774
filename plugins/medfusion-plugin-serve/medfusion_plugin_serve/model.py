"""An exported ONNX model loaded for serving: its ONNX Runtime session, its metadata (the
preprocessing the export stored with it) and the self-check run before it takes traffic."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from medfusion_plugin_export.standalone import (
    StandaloneError,
    open_session,
    prediction_columns,
    read_metadata,
)

from medfusion_core.errors import ExportError

#: Metadata keys the server reads; an artifact without them cannot be served.
REQUIRED_METADATA = ("task", "image", "columns", "preprocessing", "inputs")


def session_options(threads: int) -> ort.SessionOptions:
    """ONNX Runtime options of a served model: ``threads`` intra-op threads (``0``: one per
    core) that sleep between calls instead of spinning (a spinning pool takes the cores that
    parse the next requests)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class ServedModel:
    """One loaded artifact. ``label`` says which model it is (``chest/3`` or the file path);
    ``threads`` is its ONNX Runtime intra-op thread count (``0``: one per core)."""

    def __init__(self, artifact: str | Path, label: str, *, threads: int = 0) -> None:
        self.artifact = Path(artifact)
        self.label = label
        try:
            self.session = open_session(self.artifact, session_options(threads))
            self.metadata = read_metadata(self.artifact, self.session)
        except StandaloneError as exc:
            raise ExportError(str(exc)) from None
        missing = [key for key in REQUIRED_METADATA if key not in self.metadata]
        if missing:
            raise ExportError(
                f"{self.artifact}: metadata lacks {', '.join(missing)}; re-export it with "
                "'medfusion export RUN --format onnx'"
            )
        inputs = self.metadata["inputs"]
        self.input_names: list[str] = list(inputs["names"])
        self.views = int(inputs["views"])
        self.channels = int(inputs["channels"])
        self.size = tuple(int(s) for s in inputs["size"])
        self.clinical_features = int(inputs["clinical_features"])
        self.num_outputs = int(self.metadata["task"]["num_outputs"])
        self.variant = str(self.metadata.get("variant", "fused"))

    @property
    def reads_images(self) -> bool:
        """Whether the model variant uses the image modality."""
        return self.variant != "clinical"

    @property
    def reads_clinical(self) -> bool:
        """Whether the model variant uses the clinical modality."""
        return self.variant != "image"

    def logits(self, arrays: tuple[np.ndarray, ...]) -> np.ndarray:
        """Raw outputs ``[B, num_outputs]`` for the four stacked input arrays (one model call)."""
        return self.session.run(None, dict(zip(self.input_names, arrays, strict=True)))[0]

    def predictions(self, arrays: tuple[np.ndarray, ...]) -> list[dict[str, Any]]:
        """The prediction columns of ``medfusion predict`` for each sample of one batch."""
        return prediction_columns(self.logits(arrays), self.metadata["task"])

    def probe(self, batch: int) -> tuple[np.ndarray, ...]:
        """Zero inputs of ``batch`` samples with every modality present."""
        return (
            np.zeros((batch, self.views, self.channels, *self.size), np.float32),
            np.ones((batch, self.views), bool),
            np.zeros((batch, self.clinical_features), np.float32),
            np.ones((batch, 2), bool),
        )

    def verify(self) -> None:
        """Check the model before it serves: the session takes the metadata's input names, and
        probe batches of 1 and 3 give finite outputs of shape ``[B, num_outputs]`` with each row
        equal whatever the batch it is in. Raises :class:`ExportError` naming the artifact."""
        names = [node.name for node in self.session.get_inputs()]
        if names != self.input_names:
            raise ExportError(f"{self.artifact}: inputs {names} differ from its metadata {self.input_names}")
        single, triple = self.logits(self.probe(1)), self.logits(self.probe(3))
        for batch, out in ((1, single), (3, triple)):
            if out.shape != (batch, self.num_outputs) or not all(math.isfinite(v) for v in out.ravel()):
                raise ExportError(
                    f"{self.artifact}: probe batch of {batch} gave shape {out.shape} or non-finite values; "
                    "re-export the model"
                )
        if not np.allclose(single[0], triple, atol=1e-4):
            raise ExportError(
                f"{self.artifact}: outputs depend on the batch they are in; re-export the model"
            )
