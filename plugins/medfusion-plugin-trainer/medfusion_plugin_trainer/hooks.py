"""Registers the ``default`` trainer. Imports nothing heavy: the factory is an import string."""

from __future__ import annotations

from medfusion_core import ComponentSpec, Param, hookimpl

#: Parameters of the default trainer (``trainer.params`` in a config); defaults live in
#: :class:`medfusion_plugin_trainer.options.TrainerOptions`.
PARAMS: dict[str, Param] = {
    "epochs": Param("int", 10, "Number of training epochs."),
    "optimizer": Param("str", "adamw", "Optimizer.", choices=("adamw", "sgd")),
    "lr": Param("float", 1e-3, "Peak learning rate."),
    "weight_decay": Param("float", 1e-4, "Weight decay (not applied to biases and norm weights)."),
    "momentum": Param("float", 0.9, "SGD momentum."),
    "schedule": Param(
        "str",
        "cosine",
        "Learning-rate schedule after warmup.",
        choices=("cosine", "step", "plateau", "constant"),
    ),
    "warmup_steps": Param("int", 0, "Optimizer steps of linear warmup from 0 to lr."),
    "min_lr_ratio": Param("float", 0.0, "Cosine floor as a fraction of lr."),
    "step_epochs": Param("int", 10, "Step schedule: epochs between decays."),
    "gamma": Param("float", 0.1, "Step/plateau schedule: decay factor."),
    "plateau_patience": Param("int", 2, "Plateau schedule: epochs without improvement before a decay."),
    "accumulate": Param("int", 1, "Batches per optimizer step (gradient accumulation)."),
    "clip_grad_norm": Param("float", 0.0, "Clip the gradient norm to this value (0 = off)."),
    "class_weights": Param(
        "any", "none", "'none', 'auto' (inverse frequency; pos_weight for binary) or a list."
    ),
    "precision": Param(
        "str", "32", "32, bf16 (CPU or CUDA) or fp16 (CUDA, with GradScaler).", choices=("32", "bf16", "fp16")
    ),
    "ema_decay": Param("float", 0.0, "Exponential moving average of weights (0 = off, e.g. 0.999)."),
    "monitor": Param(
        "str",
        "auto",
        "Validation metric for best checkpoint and early stopping "
        "(auto, val_loss, val_auroc, val_accuracy, val_mae).",
    ),
    "patience": Param("int", 0, "Stop after this many epochs without improvement (0 = never)."),
    "checkpoint_every": Param(
        "int", 50, "Also save last.pt every N optimizer steps within an epoch (0 = off)."
    ),
    "log_every": Param("int", 10, "Log a step event to metrics.jsonl every N optimizer steps."),
    "deterministic": Param(
        "bool", True, "Seeded RNGs; on CUDA also torch.use_deterministic_algorithms (warn only)."
    ),
    "progress": Param(
        "str",
        "auto",
        "Progress bar: auto (when stderr is a TTY), always, never.",
        choices=("auto", "always", "never"),
    ),
    "device": Param("str", "auto", "auto (CUDA when available), cpu, cuda."),
}


@hookimpl
def medfusion_register_trainers() -> list[ComponentSpec]:
    """The default supervised trainer."""
    return [
        ComponentSpec(
            "default",
            "trainer",
            "medfusion_plugin_trainer.trainer:DefaultTrainer",
            "AdamW/SGD with warmup + cosine/step/plateau, AMP, EMA, early stopping, exact resume, DDP.",
            params=PARAMS,
        )
    ]
