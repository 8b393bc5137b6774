"""INT8 (ONNX Runtime static quantization), structured pruning (channels removed, then fine-tuned)
and FP16 against the fp32 ONNX export of the same trained run: latency on CPU with one thread for
both sides, file size and the test-split AUROC change.

The model is the demo config with a ResNet backbone at a moderate image size (convolutions
dominate the cost); it is trained briefly on the synthetic demo data, then exported by the
``onnx-int8``, ``pruned`` and ``onnx-fp16`` exporters (each exports fp32 first and compares the
two) with the tolerance lifted so that the figures are always printed. The pruned model loses
``--amount`` of the channels of every private channel chain (ResNet blocks' inner convolutions,
the deep stem, the clinical MLP and the head) and is fine-tuned ``--prune-epochs`` epochs.
FP16 is scored with ONNX Runtime's CPU provider (its AUROC and size are real; ops without an fp16
CPU kernel run in fp32 between casts, so its CPU latency says nothing about a GPU and is not a
figure here). ``--quick`` shrinks everything to check the script.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from _report import result_line


def _config(folder: Path, args: argparse.Namespace) -> Path:
    path = folder / "config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["data"]["image"]["size"] = [args.size, args.size]
    config["data"]["loader"] = {"backend": "threads", "batch_size": args.batch, "workers": 1}
    config["model"]["backbone"] = {"name": args.backbone}
    config["trainer"]["params"] = {"epochs": args.epochs, "lr": 0.002, "progress": "never"}
    config["runs_dir"] = str(folder / "runs")
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument("--patients", type=int, default=80)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8, help="batch size (latency is per batch)")
    parser.add_argument("--amount", type=float, default=0.3, help="fraction of each chain's channels pruned")
    parser.add_argument("--prune-epochs", type=int, default=1, help="fine-tuning epochs after pruning")
    parser.add_argument("--quick", action="store_true", help="resnet10t, 32 px, 30 patients, 1 epoch")
    args = parser.parse_args()
    if args.quick:
        args.backbone, args.size, args.patients, args.epochs = "resnet10t", 32, 30, 1

    import torch
    from medfusion_plugin_compress.exporters import Fp16Exporter, Int8Exporter, PrunedExporter
    from medfusion_plugin_pipeline.demo import write_demo
    from medfusion_plugin_pipeline.training import train_run

    from medfusion_core.config import load_config

    torch.set_num_threads(1)
    exporters = {
        "int8": Int8Exporter(tolerance=1.0, verbose=True),
        "pruned": PrunedExporter(amount=args.amount, epochs=args.prune_epochs, tolerance=1.0, verbose=True),
        "fp16": Fp16Exporter(tolerance=1.0, verbose=True),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_demo(Path(tmp) / "data", patients=args.patients, seed=0)
        paths, _ = train_run(load_config(_config(folder, args)))
        figures = {name: _figures(exporter.export(paths.root)) for name, exporter in exporters.items()}
    int8, pruned, fp16 = figures["int8"], figures["pruned"], figures["fp16"]
    print(
        f"model: {args.backbone}, {args.size}x{args.size} px, 2 views, batch {int8['batch']}; "
        f"test patients {int8['patients']}; onnxruntime 1 intra-op thread for both sides"
    )
    print(f"fp32 {int8['latency_fp32_ms']:.2f} ms, int8 {int8['latency_ms']:.2f} ms per batch")
    print(f"fp32 {pruned['latency_fp32_ms']:.2f} ms, pruned {pruned['latency_ms']:.2f} ms per batch")
    print(result_line("int8_vs_fp32_speedup_cpu_1thread", int8["speedup"], ">=", 1.5))
    print(result_line("int8_vs_fp32_size_ratio", int8["size_ratio"], "<=", 0.3))
    print(result_line("int8_auroc_change_abs", abs(int8["change"]), "<=", 0.02))
    print(result_line("pruned_vs_fp32_speedup_cpu_1thread", pruned["speedup"], ">=", 1.2))
    print(result_line("pruned_vs_fp32_size_ratio", pruned["size_ratio"], "<=", 0.8))
    print(result_line("pruned_auroc_change_abs", abs(pruned["change"]), "<=", 0.02))
    print(result_line("fp16_vs_fp32_size_ratio", fp16["size_ratio"], "<=", 0.55))
    print(result_line("fp16_auroc_change_abs", abs(fp16["change"]), "<=", 0.02))


def _figures(artifact: Path) -> dict:
    """The ``compression`` figures an exporter kept in the artifact's sidecar."""
    return json.loads(Path(f"{artifact}.json").read_text(encoding="utf-8"))["compression"]


if __name__ == "__main__":
    main()
