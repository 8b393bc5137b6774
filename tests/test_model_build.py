"""The assembled multimodal model: modalities, tasks, missing data, extras, export and errors.

A tiny third-party-style backbone and attention plugin (``medfusion_core.testing.tiny_backbone``) keeps these
tests fast and independent of the backbone plugins; it also passes the conformance kit.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import medfusion_plugin_aggregators.hooks as aggregator_hooks
import medfusion_plugin_fusion.hooks as fusion_hooks
import pytest
import torch

from medfusion_core.config import (
    BackboneConfig,
    ComponentConfig,
    DataConfig,
    ExperimentConfig,
    HeadConfig,
    ImageConfig,
    ModelConfig,
    TabularConfig,
    TaskConfig,
)
from medfusion_core.errors import ConfigError
from medfusion_core.model import MultimodalModel, build_model, num_outputs_for, with_modalities
from medfusion_core.testing import conformance, tiny_backbone

TINY = tiny_backbone
FEATURES = 5


@pytest.fixture(autouse=True)
def _one_thread():
    with conformance.single_thread():
        yield


@pytest.fixture
def host(medfusion_host):
    medfusion_host.register(TINY, TINY.PLUGIN)
    medfusion_host.register(fusion_hooks, "medfusion-plugin-fusion")
    medfusion_host.register(aggregator_hooks, "medfusion-plugin-aggregators")
    return medfusion_host


def make_config(
    *,
    modalities: str = "fused",
    fusion: str = "concat",
    fusion_params: dict | None = None,
    aggregator: str = "attention_mil",
    backbone: str = "tiny",
    attention: str | None = "tiny_gate",
    task: str = "binary",
    size: tuple[int, ...] = (16, 16),
) -> ExperimentConfig:
    """A small experiment config for model tests."""
    return ExperimentConfig(
        name="unit",
        data=DataConfig(manifest="unused.csv", image=ImageConfig(size=list(size), channels=1)),
        task=TaskConfig(type=task, classes=["a", "b", "c"] if task == "multiclass" else None),  # type: ignore[arg-type]
        model=ModelConfig(
            modalities=modalities,  # type: ignore[arg-type]
            backbone=BackboneConfig(
                name=backbone,
                params={"width": 4},
                attention=ComponentConfig(attention) if attention else None,
            ),
            aggregator=ComponentConfig(aggregator, {"attention_dim": 4} if "mil" in aggregator else {}),
            tabular=TabularConfig(hidden=[6], dropout=0.0),
            fusion=ComponentConfig(fusion, fusion_params or {}),
            head=HeadConfig(hidden=[4], dropout=0.0),
        ),
    )


def make_batch(size: tuple[int, ...] = (16, 16)) -> dict[str, torch.Tensor]:
    """Four patients, up to two views: complete, one view, no view, no clinical row (NaN)."""
    generator = torch.Generator().manual_seed(0)
    view_mask = torch.tensor([[True, True], [True, False], [False, False], [True, True]])
    clinical = torch.randn(4, FEATURES, generator=generator)
    clinical[3] = float("nan")
    images = torch.randn(4, 2, 1, *size, generator=generator)
    images[~view_mask] = float("nan")
    modality_mask = torch.tensor([[True, True], [True, True], [False, True], [True, False]])
    return {"images": images, "view_mask": view_mask, "clinical": clinical, "modality_mask": modality_mask}


def inputs(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """Positional model inputs."""
    return batch["images"], batch["view_mask"], batch["clinical"], batch["modality_mask"]


def build(config: ExperimentConfig) -> MultimodalModel:
    """Build under a fixed seed."""
    torch.manual_seed(0)
    return build_model(config, clinical_features=FEATURES, num_outputs=num_outputs_for(config))


def test_tiny_components_pass_the_kit(host) -> None:
    conformance.check_backbone("tiny", params={"width": 4})
    conformance.check_backbone("tiny3d_a")
    conformance.check_attention("tiny_gate")


@pytest.mark.parametrize("modalities", ["fused", "image", "clinical"])
@pytest.mark.parametrize(("task", "outputs"), [("binary", 1), ("multiclass", 3), ("regression", 1)])
def test_every_modality_and_task_gives_finite_outputs(host, modalities: str, task: str, outputs: int) -> None:
    model = build(make_config(modalities=modalities, task=task))
    batch = make_batch()
    model.eval()
    with torch.no_grad():
        logits = model(*inputs(batch))
    assert logits.shape == (4, outputs)
    assert torch.isfinite(logits).all()
    model.train()
    model(*inputs(batch)).square().sum().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name


def test_unimodal_models_keep_only_their_branch(host) -> None:
    image_only = build(make_config(modalities="image"))
    clinical_only = build(make_config(modalities="clinical"))
    assert image_only.tabular is None and image_only.fusion is None
    assert clinical_only.image_encoder is None and clinical_only.fusion is None
    batch, other = make_batch(), make_batch()
    other["clinical"] = other["clinical"] + 5.0
    other["images"] = other["images"] * -3.0
    for model, unchanged in ((image_only, "clinical"), (clinical_only, "images")):
        model.eval()
        swapped = dict(batch, **{unchanged: other[unchanged]})
        with torch.no_grad():
            assert torch.equal(model(*inputs(batch)), model(*inputs(swapped)))


@pytest.mark.parametrize("fusion", ["concat", "gated", "film", "daft", "low_rank"])
def test_missing_data_has_no_influence_on_the_fused_model(host, fusion: str) -> None:
    model = build(
        make_config(fusion=fusion, fusion_params={} if fusion == "concat" else {"hidden": 4})
    ).eval()
    batch = make_batch()
    changed = {key: value.clone() for key, value in batch.items()}
    changed["images"][~batch["view_mask"]] = 7.0
    changed["images"][2] = 3.0  # patient 2 has image modality off: its views must not matter
    changed["clinical"][3] = -2.0  # patient 3 has no clinical row
    with torch.no_grad():
        reference, result = model(*inputs(batch)), model(*inputs(changed))
        assert torch.equal(reference, result)
        changed["clinical"][0] += 1.0  # a present modality does matter
        assert not torch.equal(reference[0], model(*inputs(changed))[0])


def test_training_forward_skips_padded_views_and_matches_eval_without_batchnorm(host) -> None:
    model = build(make_config(attention=None, aggregator="mean"))
    model.image_encoder.backbone.stem[1] = torch.nn.Identity()  # batch statistics differ by design
    batch = make_batch()
    model.eval()
    with torch.no_grad():
        evaluated = model(*inputs(batch))
        model.train()
        trained = model(*inputs(batch))
    torch.testing.assert_close(trained, evaluated)


def test_extras_have_documented_shapes(host) -> None:
    model = build(make_config()).eval()
    with torch.no_grad():
        extras = model.forward_with_extras(*inputs(make_batch()))
    assert extras["logits"].shape == (4, 1)
    assert extras["feature_map"].shape == (4, 2, 4, 8, 8)
    assert extras["attention_maps"].shape == (4, 2, 1, 8, 8)
    weights = extras["view_weights"]
    assert weights.shape == (4, 2)
    torch.testing.assert_close(weights.sum(dim=1), torch.tensor([1.0, 1.0, 0.0, 1.0]))
    assert weights[1, 1] == 0


def test_volumes_run_through_a_3d_backbone(host) -> None:
    model = build(make_config(backbone="tiny3d_a", attention=None, size=(8, 8, 8))).eval()
    with torch.no_grad():
        extras = model.forward_with_extras(*inputs(make_batch((8, 8, 8))))
    assert torch.isfinite(extras["logits"]).all()
    assert extras["feature_map"].shape == (4, 2, 4, 4, 4, 4)


def test_gradient_checkpointing_recomputes_and_gives_the_same_gradients(host) -> None:
    config = make_config()
    config = attrs.evolve(
        config,
        model=attrs.evolve(
            config.model, backbone=attrs.evolve(config.model.backbone, grad_checkpointing=True)
        ),
    )
    checkpointed, plain = build(config), build(make_config())
    assert checkpointed.image_encoder.backbone.grad_checkpointing
    assert not plain.image_encoder.backbone.grad_checkpointing
    batch = make_batch()
    body_runs = {}
    for name, model in (("checkpointed", checkpointed), ("plain", plain)):
        runs = []
        model.image_encoder.backbone.body[0].register_forward_hook(lambda *_, runs=runs: runs.append(1))
        model.train()
        loss = model(*inputs(batch)).sum()
        forward_runs = len(runs)
        loss.backward()
        body_runs[name] = (forward_runs, len(runs))
    # checkpointing drops the body's activations and runs its convolution again in the backward pass
    assert body_runs["plain"][0] == body_runs["plain"][1] > 0
    assert body_runs["checkpointed"] == (body_runs["plain"][0], 2 * body_runs["plain"][0])
    grads = dict(plain.named_parameters())
    for name, param in checkpointed.named_parameters():
        assert param.grad is not None, name
        torch.testing.assert_close(param.grad, grads[name].grad, msg=name)


@pytest.mark.filterwarnings("ignore:The tensor attribute")
@pytest.mark.parametrize("modalities", ["fused", "clinical"])
def test_model_exports_with_torch_export(host, modalities: str) -> None:
    model = build(make_config(modalities=modalities, fusion="gated", fusion_params={"hidden": 4})).eval()
    batch = make_batch()
    program = torch.export.export(model, inputs(batch), strict=False)
    with torch.no_grad():
        torch.testing.assert_close(program.module()(*inputs(batch)), model(*inputs(batch)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"fusion": "gated", "fusion_params": {"hidden": 0}},
            r"^model\.fusion\.params\.hidden: fusion 'gated'",
        ),
        ({"fusion": "gated", "fusion_params": {"hiden": 3}}, r"^model\.fusion\.params\.hiden: .*rejected"),
        ({"fusion": "gatd"}, r"^model\.fusion\.name: unknown fusion 'gatd'; did you mean 'gated'"),
        ({"aggregator": "nope"}, r"^model\.aggregator\.name: unknown aggregator"),
        ({"attention": "nope"}, r"^model\.backbone\.attention\.name: unknown attention"),
        (
            {"backbone": "tiny3d_a", "size": (8, 8, 8)},
            r"^model\.backbone\.attention\.name: attention 'tiny_gate' works on 2D feature maps",
        ),
    ],
)
def test_component_errors_name_the_config_path(host, changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(make_config(**changes))


def test_bad_head_and_missing_clinical_features(host) -> None:
    config = make_config()
    bad_head = attrs.evolve(config, model=attrs.evolve(config.model, head=HeadConfig(hidden=[0])))
    with pytest.raises(ConfigError, match=r"model\.head\.hidden"):
        build(bad_head)
    with pytest.raises(ConfigError, match="needs clinical features"):
        build_model(config, clinical_features=0, num_outputs=1)
    build_model(with_modalities(config, "image"), clinical_features=0, num_outputs=1)


def test_with_modalities_and_num_outputs() -> None:
    config = make_config(task="multiclass")
    image = with_modalities(config, "image")
    assert (image.model.modalities, image.name) == ("image", "unit-image")
    assert with_modalities(config, "clinical", rename=False).name == "unit"
    assert image.model.fusion == config.model.fusion
    assert num_outputs_for(config) == 3
    assert num_outputs_for(config, num_classes=4) == 4
    assert num_outputs_for(make_config(task="regression")) == 1
    with pytest.raises(ConfigError, match=r"model\.modalities"):
        with_modalities(config, "genomics")


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_model_exports_to_onnx_and_matches_onnxruntime(host, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    model = build(make_config(fusion="cross_attention", fusion_params={"hidden": 4})).eval()
    batch = make_batch()
    path = tmp_path / "model.onnx"
    torch.onnx.export(model, inputs(batch), path, dynamo=True, verbose=False)
    session = ort.InferenceSession(str(path))
    feeds = {arg.name: value.numpy() for arg, value in zip(session.get_inputs(), inputs(batch), strict=True)}
    with torch.no_grad():
        expected = model(*inputs(batch)).numpy()
    torch.testing.assert_close(torch.from_numpy(session.run(None, feeds)[0]), torch.from_numpy(expected))
