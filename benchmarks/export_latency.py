"""Eager PyTorch vs ONNX Runtime latency on a quickstart-style model (resnet18 + mean + concat,
2 views of 64x64, demo clinical width), batch 1 and batch 32, measured in the same run.

For fairness torch and ONNX Runtime use the same number of threads (``THREADS``, intra-op; ORT
inter-op 1). Prints ratios eager / ORT (> 1 means ONNX Runtime is faster).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _report import result_line
from _timing import Contender, measure, ratio

THREADS = 2


def main() -> None:
    import medfusion_plugin_aggregators.hooks as aggregators
    import medfusion_plugin_cnn.hooks as cnn
    import medfusion_plugin_fusion.hooks as fusions
    import onnxruntime as ort
    from medfusion_plugin_export.api import export_model
    from medfusion_plugin_export.signature import INPUT_NAMES, InputSpec, random_inputs

    from medfusion_core.config import structure_config
    from medfusion_core.model import build_model
    from medfusion_core.testing import isolated_host

    spec = InputSpec(views=2, channels=1, size=(64, 64), clinical_features=5)
    raw = {
        "name": "bench",
        "data": {"manifest": "unused.csv"},
        "model": {
            "backbone": {"name": "resnet18"},
            "aggregator": {"name": "mean"},
            "fusion": {"name": "concat"},
        },
    }
    with isolated_host() as host, tempfile.TemporaryDirectory() as tmp:
        for module, name in ((cnn, "cnn"), (aggregators, "aggregators"), (fusions, "fusion")):
            host.register(module, f"medfusion-plugin-{name}")
        torch.manual_seed(0)
        model = build_model(structure_config(raw, "<bench>"), clinical_features=5, num_outputs=1).eval()
        result = export_model(model, Path(tmp) / "model.onnx", fmt="onnx", metadata={}, input_spec=spec)
        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(result.artifact), options, providers=["CPUExecutionProvider"])
        print(f"threads: torch {THREADS} (set per call), onnxruntime {THREADS} (intra-op)")
        lines = []
        for batch in (1, 32):
            inputs = random_inputs(spec, batch, seed=batch)
            feeds = {n: t.numpy() for n, t in zip(INPUT_NAMES, inputs, strict=True)}
            repeats, number = (30, 10) if batch == 1 else (9, 1)  # a batch-1 sample: 10 calls

            def eager(inputs=inputs) -> None:
                with torch.inference_mode():
                    model(*inputs)

            timings = measure(
                [
                    Contender("eager", eager, threads=THREADS, number=number),
                    Contender(
                        "onnxruntime",
                        lambda feeds=feeds: session.run(None, feeds),
                        threads=THREADS,
                        number=number,
                    ),
                ],
                repeats=repeats,
                warmup=3,
                title=f"batch {batch}",
            )
            ratio_ = ratio(timings["eager"], timings["onnxruntime"])
            target = 1.3 if batch == 1 else 1.0
            lines.append(result_line(f"onnxruntime_speedup_batch{batch}", ratio_, ">=", target))
        for line in lines:
            print(line)


if __name__ == "__main__":
    main()
