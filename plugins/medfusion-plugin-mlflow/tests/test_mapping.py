"""MedFusion values as MLflow params, tags and metrics, within MLflow's limits."""

from __future__ import annotations

from medfusion_plugin_mlflow import mapping


def test_config_is_flattened_to_dotted_params() -> None:
    config = {"model": {"backbone": {"name": "swin_tiny"}, "dims": [1, 2]}, "train": {"lr": 0.001}}
    assert mapping.params(config) == {
        "model.backbone.name": "swin_tiny",
        "model.dims": "[1, 2]",
        "train.lr": "0.001",
    }


def test_keys_and_values_respect_mlflow_limits() -> None:
    long_a, long_b = "a" * 300 + "x", "a" * 300 + "y"
    found = mapping.params({long_a: "v" * 7000, long_b: 1, "odd:key*": None})
    assert all(len(key) <= mapping.MAX_KEY_LENGTH for key in found)
    assert len(found) == 3  # two long keys stay apart
    assert len(found[mapping.safe_key(long_a)]) == mapping.MAX_PARAM_VALUE_LENGTH
    assert found[mapping.safe_key(long_a)].endswith("...")
    assert found["odd_key_"] == "null"
    tag = mapping.tags({"config": "c" * 9000}, "medfusion.lineage.")
    assert len(tag["medfusion.lineage.config"]) == mapping.MAX_TAG_VALUE_LENGTH


def test_run_tags_carry_lineage_and_git_commit() -> None:
    lineage = {"git": {"commit": "abc", "dirty": True}, "versions": {"medfusion-core": "0.1.0"}}
    found = mapping.run_tags("f" * 32, "/runs/a", "sha256:00", lineage)
    assert found[mapping.RUN_ID_TAG] == "f" * 32
    assert found["medfusion.run_dir"] == "/runs/a"
    assert found["medfusion.data_fingerprint"] == "sha256:00"
    assert found["medfusion.lineage.git.dirty"] == "true"
    assert found["medfusion.lineage.versions.medfusion-core"] == "0.1.0"
    assert found["mlflow.source.git.commit"] == "abc"
    assert "medfusion.data_fingerprint" not in mapping.run_tags("f" * 32, "", None, {})


def test_metric_points_keep_step_and_get_milliseconds() -> None:
    assert mapping.metric_rows([("val/auroc", 0.75, 3, 1.7e9 + 0.5)]) == [
        ("val/auroc", 0.75, 1_700_000_000_500, 3)
    ]
    assert [len(part) for part in mapping.chunks(list(range(2500)), 1000)] == [1000, 1000, 500]


def test_model_references() -> None:
    assert mapping.model_ref("chest@champion") == ("chest", None, "champion")
    assert mapping.model_ref("chest/3") == ("chest", 3, None)
    for other in ("chest", "runs/a", "@x", "chest@", "/3"):
        assert mapping.model_ref(other) == (None, None, None)
