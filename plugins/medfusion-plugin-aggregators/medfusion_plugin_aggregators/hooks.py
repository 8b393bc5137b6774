"""Registers the six multi-view aggregators (import strings only: nothing heavy is imported)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, Param, hookimpl

_PACKAGE = "medfusion_plugin_aggregators"
_ATTENTION_DIM = {"attention_dim": Param("int", 32, "width of the attention network")}


@hookimpl
def medfusion_register_aggregators() -> list[ComponentSpec]:
    """The first-party aggregators."""
    return [
        ComponentSpec(
            "mean",
            "aggregator",
            f"{_PACKAGE}.pooling:MeanAggregator",
            "Mean of the present views.",
            params={},
        ),
        ComponentSpec(
            "max",
            "aggregator",
            f"{_PACKAGE}.pooling:MaxAggregator",
            "Element-wise maximum over the present views.",
            params={},
        ),
        ComponentSpec(
            "attention_mil",
            "aggregator",
            f"{_PACKAGE}.attention:AttentionMIL",
            "Attention MIL pooling (Ilse et al., 2018).",
            params=_ATTENTION_DIM,
        ),
        ComponentSpec(
            "gated_attention_mil",
            "aggregator",
            f"{_PACKAGE}.attention:GatedAttentionMIL",
            "Gated attention MIL pooling (Ilse et al., 2018).",
            params=_ATTENTION_DIM,
        ),
        ComponentSpec(
            "transformer",
            "aggregator",
            f"{_PACKAGE}.transformer:TransformerAggregator",
            "Cross-view transformer with a summary token and padded views key-masked.",
            params={
                "hidden": Param("int", 64, "token width (the output width)"),
                "heads": Param("int", 4, "attention heads (must divide hidden)"),
                "layers": Param("int", 1, "transformer layers"),
                "max_views": Param("int", 16, "largest number of views (position embeddings)"),
                "dropout": Param("float", 0.0, "dropout inside the transformer layers"),
            },
        ),
        ComponentSpec(
            "learned_weights",
            "aggregator",
            f"{_PACKAGE}.attention:LearnedViewWeights",
            "A learned weight per view position, softmax over the present views.",
            params={"max_views": Param("int", 8, "largest number of views")},
        ),
    ]
