"""INT8 post-training quantization with ONNX Runtime: static (QDQ, per-channel weights, activation
ranges calibrated on training-split patients) or, when static quantization is impossible,
dynamic (INT8 weights, activations quantized at run time)."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np


class _Feeds:
    """An ONNX Runtime ``CalibrationDataReader`` over prepared feeds."""

    def __init__(self, feeds: Iterable[dict[str, np.ndarray]]) -> None:
        self._feeds = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        """The next batch of calibration inputs, or None at the end."""
        return next(self._feeds, None)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """ONNX Runtime's quantizer logs advice on the root logger; keep the command's output clean."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        root.setLevel(level)


def _preprocessed(source: Path, folder: Path) -> Path:
    """ONNX Runtime's pre-processing (shape inference, graph optimisation) when it succeeds."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    target = folder / "preprocessed.onnx"
    try:
        quant_pre_process(str(source), str(target), skip_symbolic_shape=True)
    except Exception:
        return source
    return target


def quantize_int8(source: Path, target: Path, calibration: list[dict[str, np.ndarray]], folder: Path) -> str:
    """Quantize ``source`` to ``target``; returns the method used, as a line for the user."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    patients = sum(len(next(iter(feeds.values()))) for feeds in calibration)
    reason = "no calibration patients in the training split"
    if calibration:
        try:
            with _quiet():
                quantize_static(
                    str(_preprocessed(source, folder)),
                    str(target),
                    _Feeds(calibration),
                    quant_format=QuantFormat.QDQ,
                    per_channel=True,
                    activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                )
            return f"static INT8 (QDQ, per-channel weights), calibrated on {patients} training-split patients"
        except Exception as exc:
            reason = f"static quantization failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    with _quiet():
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    return f"dynamic INT8 (weights INT8, activations quantized at run time) as fallback: {reason}"
