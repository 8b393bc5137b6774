"""Registers the nine fusion strategies (import strings only: nothing heavy is imported here)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, Param, hookimpl

_HIDDEN = Param("int", 32, "width of the fused features (per modality for film/daft)")
_DROPOUT = Param("float", 0.0, "dropout on the fused output")
_RANK = Param("int", 4, "rank of the modality factors")
_CONDITION = Param("str", "clinical", "modality that conditions the others")

_FUSIONS: list[tuple[str, str, str, dict[str, Param]]] = [
    (
        "concat",
        "additive:ConcatFusion",
        "Concatenate modality features and presence bits, optionally projected.",
        {"hidden": Param("int", None, "project the concatenation to this width (none: no projection)")},
    ),
    (
        "gated",
        "additive:GatedFusion",
        "Gated multimodal unit: per-unit softmax gates over modalities.",
        {"hidden": _HIDDEN},
    ),
    (
        "attention",
        "additive:AttentionFusion",
        "Attention-weighted sum over modality projections.",
        {"hidden": _HIDDEN, "attention_dim": Param("int", 16, "width of the scoring MLP")},
    ),
    (
        "cross_attention",
        "tokens:CrossAttentionFusion",
        "Modalities as tokens attending to each other (transformer layers).",
        {
            "hidden": _HIDDEN,
            "heads": Param("int", 2, "attention heads (must divide hidden)"),
            "layers": Param("int", 1, "transformer layers"),
        },
    ),
    (
        "bilinear",
        "multiplicative:BilinearFusion",
        "Unimodal plus pairwise bilinear interaction terms.",
        {"hidden": _HIDDEN},
    ),
    (
        "tensor",
        "multiplicative:TensorFusion",
        "Tensor Fusion Network: outer product with appended ones.",
        {"hidden": _HIDDEN, "rank": Param("int", 4, "per-modality width before the outer product")},
    ),
    (
        "low_rank",
        "multiplicative:LowRankFusion",
        "Low-rank multimodal fusion with modality factors.",
        {"hidden": _HIDDEN, "rank": _RANK},
    ),
    (
        "film",
        "conditioning:FiLMFusion",
        "FiLM: clinical features scale and shift the image features.",
        {"hidden": _HIDDEN, "condition": _CONDITION},
    ),
    (
        "daft",
        "conditioning:DAFTFusion",
        "DAFT-style affine transform of image features from an image+clinical bottleneck.",
        {
            "hidden": _HIDDEN,
            "bottleneck": Param("int", 8, "width of the auxiliary bottleneck"),
            "condition": _CONDITION,
        },
    ),
]


@hookimpl
def medfusion_register_fusions() -> list[ComponentSpec]:
    """The first-party fusion strategies; every one takes ``dropout`` too."""
    return [
        ComponentSpec(
            name,
            "fusion",
            f"medfusion_plugin_fusion.{target}",
            summary,
            params={**params, "dropout": _DROPOUT},
        )
        for name, target, summary, params in _FUSIONS
    ]
