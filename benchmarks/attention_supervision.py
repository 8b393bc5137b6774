"""Does attention supervision help? The same model trained on the demo data (which has lesion
masks) with and without the mask-guided attention loss, scored against the lesion masks.

Both runs share everything but the loss: the demo data and its splits, the seed (so the same
initial weights and batch order), the epochs and the optimiser. The model is a small Swin
transformer (timm ``swin_tiny_patch4_window7_224`` shrunk through its parameters: two stages of
depth 2, width 32, window 4, random init) at 64x64 px, whose feature map is 8x8 (the CNN
families end at stride 32, a 2x2 map at this size, too coarse to point at a lesion), with a
``spatial`` attention gate on that map and the demo's fused head; the supervised run adds
``model.attention_loss: mask_guided`` (weight ``--weight``). Each trained model's best
checkpoint is then scored on the test split exactly as ``medfusion explain`` does
(:func:`medfusion_plugin_explain.explain.mask_agreement`): the pointing game (the map's peak
inside the lesion) and the IoU of the map at half its maximum with the mask, over every test
view with a mask, for the attention gate's map and for Grad-CAM.

Target: supervised >= unsupervised (ratio >= 1) for the attention map, which is what the loss
trains; Grad-CAM is printed the same way (the loss acts on it only through the gate). Each side
trains with one torch thread. ``--quick`` shrinks everything to check that the script works.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from _report import result_line

#: The maps scored, as ``mask_agreement`` names them, and the figure prefix of each.
MAPS = {"attention_module": "attention_map", "gradcam": "gradcam"}


def _config(folder: Path, name: str, supervised: bool, args: argparse.Namespace) -> Path:
    """The demo config with the benchmark's model; ``supervised`` adds the attention loss."""
    config = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    config["name"] = name
    config["seed"] = args.seed
    config["data"]["image"]["size"] = [args.size, args.size]
    config["data"]["loader"] = {"backend": "threads", "batch_size": 16, "workers": 1}
    config["model"]["modalities"] = args.modalities
    config["model"]["backbone"] = {
        "name": "swin_tiny_patch4_window7_224",
        "params": {
            "img_size": args.size,
            "window_size": 4,
            "embed_dim": 32,
            "depths": [2, 2],
            "num_heads": [2, 4],
        },
        "attention": {"name": "spatial"},
    }
    config["model"]["attention_loss"] = {"name": "mask_guided"} if supervised else None
    config["model"]["attention_loss_weight"] = args.weight
    config["trainer"]["params"] = {
        "epochs": args.epochs,
        "lr": 0.002,
        "progress": "never",
        "checkpoint_every": 0,
    }
    config["runs_dir"] = str(folder / "runs")
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _train_and_score(config_path: Path, modalities: str) -> tuple[dict[str, Any], float]:
    """``(mask scores by map on the test split, best validation metric)`` of one training."""
    from medfusion_plugin_explain.explain import ExplainOptions, mask_agreement
    from medfusion_plugin_pipeline.training import train_run

    from medfusion_core.config import load_config
    from medfusion_core.runs.loading import load_variant, open_run

    paths, summaries = train_run(load_config(config_path), modalities=modalities)
    run = open_run(paths.root)
    model = load_variant(run, modalities)
    data = run.prepare_data(modalities)
    scores = mask_agreement(model, data, "test", run.config.task.type, ExplainOptions(methods=("gradcam",)))
    if scores is None:
        raise SystemExit("the demo data's test split has no lesion masks")
    return scores, float(summaries[modalities]["best_value"])


def _ratio(supervised: float, unsupervised: float) -> float:
    """``supervised / unsupervised`` (infinite when only the supervised model scores)."""
    if unsupervised > 0:
        return supervised / unsupervised
    return math.inf if supervised > 0 else 1.0


def main() -> None:
    """Train both models, score them, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument(
        "--weight", type=float, default=1.0, help="attention_loss_weight of the supervised run"
    )
    parser.add_argument("--modalities", choices=["fused", "image"], default="fused")
    parser.add_argument("--seed", type=int, default=0, help="seed of the demo data and of both trainings")
    parser.add_argument("--quick", action="store_true", help="48 patients, 32 px, 1 epoch")
    args = parser.parse_args()
    if args.quick:
        args.patients, args.size, args.epochs = 48, 32, 1

    import torch
    from medfusion_plugin_pipeline.demo import write_demo

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_demo(Path(tmp) / "data", patients=args.patients, seed=args.seed)
        plain, plain_val = _train_and_score(_config(folder, "plain", False, args), args.modalities)
        guided, guided_val = _train_and_score(_config(folder, "supervised", True, args), args.modalities)
    views = guided["gradcam"]["views"]
    print(
        "model: small Swin (2 stages, width 32, window 4) + spatial attention gate, "
        f"{args.size}x{args.size} px, {args.modalities}; demo data {args.patients} patients, "
        f"{args.epochs} epochs, seed {args.seed}, 1 thread; "
        f"attention_loss mask_guided weight {args.weight} vs none; {views} test views with a mask"
    )
    print(f"best validation AUROC: supervised {guided_val:.3f}, unsupervised {plain_val:.3f}")
    for key, prefix in MAPS.items():
        if key not in guided or key not in plain:
            raise SystemExit(f"no {key} map was read out; the model has no attention gate")
        for score in ("pointing_game", "iou"):
            sup, unsup = float(guided[key][score] or 0.0), float(plain[key][score] or 0.0)
            print(f"{prefix} {score}: supervised {sup:.3f}, unsupervised {unsup:.3f}")
            print(result_line(f"{prefix}_{score}_supervised", sup, ">=", unsup))
            print(result_line(f"{prefix}_{score}_unsupervised", unsup, "<=", sup))
            print(result_line(f"{prefix}_{score}_supervised_vs_unsupervised", _ratio(sup, unsup), ">=", 1.0))


if __name__ == "__main__":
    main()
