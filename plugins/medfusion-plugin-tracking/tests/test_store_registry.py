"""The model registry: versions, aliases, references, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.store import TrackingStore


@pytest.fixture
def store(store_url: str):
    with TrackingStore(store_url) as opened:
        yield opened


def test_versions_aliases_and_references(store: TrackingStore) -> None:
    run_a = store.create_run("a", run_dir="/runs/a")
    run_b = store.create_run("b", run_dir="/runs/b")
    first = store.register_model_version(
        "chest",
        run_a,
        checkpoint="/runs/a/fused/checkpoints/best.pt",
        artifacts=["/runs/a/export/fused.onnx"],
        metrics={"test_auroc": 0.9},
        lineage={"git": {"commit": "abc"}},
    )
    second = store.register_model_version("chest", run_b, variant="image", checkpoint="/runs/b/x.pt")
    assert (first.ref, second.ref) == ("chest/1", "chest/2")
    assert first.artifacts == ["/runs/a/export/fused.onnx"] and first.metrics == {"test_auroc": 0.9}
    store.set_alias("chest", "champion", 1)
    store.set_alias("chest", "challenger", 2)
    assert store.resolve_model("chest@champion").run_id == run_a
    store.set_alias("chest", "champion", 2)
    assert store.resolve_model("chest@champion").version == 2
    assert store.resolve_model("chest/2").aliases == ["challenger", "champion"]
    assert store.resolve_model("chest").version == 2  # newest
    assert store.model_run_folder("chest/1") == (Path("/runs/a"), "fused")
    assert store.model_run_folder("chest@champion") == (Path("/runs/b"), "image")
    store.delete_alias("chest", "challenger")
    assert store.resolve_model("chest/2").aliases == ["champion"]
    assert store.list_models() == ["chest"] and store.versions_from_run(run_a) == ["chest/1"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.resolve_model("lung@champion"), "no registered model 'lung' (models: chest)"),
        (lambda s: s.resolve_model("chest@nope"), "model 'chest' has no alias 'nope' (aliases: champion)"),
        (lambda s: s.resolve_model("chest/9"), "model 'chest' has no version 9"),
        (lambda s: s.resolve_model("chest@a@b"), "model reference 'chest@a@b'"),
        (lambda s: s.set_alias("chest", "champion", 7), "model 'chest' has no version 7"),
        (lambda s: s.set_alias("chest", "3", 1), "alias '3'"),
        (lambda s: s.delete_alias("chest", "nope"), "model 'chest' has no alias 'nope'"),
        (lambda s: s.register_model_version("a/b", None, checkpoint="x"), "model name 'a/b'"),
    ],
)
def test_registry_errors(store: TrackingStore, call, message: str) -> None:
    store.register_model_version("chest", None, checkpoint="c.pt")
    store.set_alias("chest", "champion", 1)
    with pytest.raises(TrackingError) as error:
        call(store)
    assert message in str(error.value)


def test_run_detail_reads_the_run_its_artifacts_and_versions_by_id_or_name(store: TrackingStore) -> None:
    run_id = store.create_run("detailed", run_dir="/runs/detailed")
    other = store.create_run("other", run_dir="/runs/other")
    store.log_params(run_id, {"lr": "0.001"})
    store.log_artifact(run_id, "fused/checkpoints/last.pt", kind="checkpoint")
    store.log_artifact(run_id, "export/fused.onnx", kind="onnx")
    for model in ("zeta", "alpha", "alpha"):
        store.register_model_version(model, run_id, checkpoint="/runs/detailed/fused/checkpoints/best.pt")
    store.register_model_version("alpha", other, checkpoint="/runs/other/best.pt")
    by_id, by_name = store.run_detail(run_id), store.run_detail("detailed")
    assert by_id == by_name
    assert by_id.run == store.get_run(run_id) and by_id.run.params == {"lr": "0.001"}
    assert by_id.artifacts == [("export/fused.onnx", "onnx"), ("fused/checkpoints/last.pt", "checkpoint")]
    assert by_id.artifacts == store.artifacts(run_id)
    assert by_id.model_versions == ["alpha/1", "alpha/2", "zeta/1"] == store.versions_from_run(run_id)
    assert store.run_detail(other).model_versions == ["alpha/3"]
    with pytest.raises(TrackingError, match="no run 'missing'"):
        store.run_detail("missing")
