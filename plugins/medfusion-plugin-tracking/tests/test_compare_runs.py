"""Two tiny trained and evaluated runs: the ``paired_tests`` report section equals the stats
functions on report/predictions.csv, and ``runs compare`` shows the tests between them (run names
and model references), and refuses test sets that differ in one line naming the patients."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import attrs
import medfusion_plugin_aggregators.hooks as aggregators
import medfusion_plugin_fusion.hooks as fusions
import medfusion_plugin_readers.hooks as readers
import medfusion_plugin_trainer.hooks as trainer
import pytest
import yaml
from click.testing import CliRunner
from medfusion_plugin_evaluation.run import evaluate_run
from medfusion_plugin_pipeline.demo import write_demo
from medfusion_plugin_pipeline.training import train_run
from medfusion_plugin_tracking import hooks as tracking
from medfusion_plugin_tracking.cli_models import models
from medfusion_plugin_tracking.cli_runs import runs
from medfusion_plugin_tracking.paired import read_predictions
from medfusion_plugin_tracking.stats import compare_models

from medfusion_core.config import load_config
from medfusion_core.host import Host
from medfusion_core.testing import tiny_backbone
from medfusion_core.testing.plugins import isolated_host


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """Runs ``alpha`` (all three variants) and ``beta`` (clinical only, another learning rate) on the same
    split, both evaluated and imported into a SQLite store (names that are no hex prefix of a run id, which
    `runs compare` would also match); returns the runs folder and store URL."""
    with isolated_host() as host:
        yield _train_and_evaluate(host, tmp_path_factory.mktemp("compare"))


def _train_and_evaluate(host: Host, tmp_path: Path) -> tuple[Path, str]:
    tiny = tiny_backbone
    for module, name in [
        (tiny, tiny.PLUGIN),
        (trainer, "medfusion-plugin-trainer"),
        (aggregators, "medfusion-plugin-aggregators"),
        (fusions, "medfusion-plugin-fusion"),
        (readers, "medfusion-plugin-readers"),
        (tracking, "medfusion-plugin-tracking"),
    ]:
        host.register(module, name)
    folder = write_demo(tmp_path / "data", patients=40, seed=1)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["model"]["backbone"] = {"name": "tiny"}
    config["data"]["image"]["size"] = [32, 32]
    config["data"]["loader"]["batch_size"] = 8
    config["evaluation"]["bootstrap"] = 20
    config["runs_dir"] = str(tmp_path / "runs")
    for name, lr, modalities in (("alpha", 0.01, "all"), ("beta", 0.03, "clinical")):
        config["name"] = name
        config["trainer"]["params"] = {"epochs": 1, "lr": lr, "progress": "never"}
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        paths, _ = train_run(load_config(path), modalities=modalities)
        evaluate_run(paths.root)
    url = f"sqlite:///{tmp_path / 'medfusion.db'}"
    imported = CliRunner().invoke(runs, ["import", str(tmp_path / "runs"), "--store", url])
    assert imported.exit_code == 0, imported.output
    return tmp_path / "runs", url


def _report(run: Path) -> dict:
    return json.loads((run / "report" / "metrics.json").read_text(encoding="utf-8"))


def _scores(run: Path, label: str):
    threshold = _report(run)["models"][label]["threshold"]["value"]
    return read_predictions(run, label, threshold)


def test_section_equals_the_stats_on_predictions_csv_and_compare_prints_the_tests(evaluated) -> None:
    root, url = evaluated
    a, b = root / "alpha", root / "beta"
    with (a / "report" / "predictions.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["patient_id", "split", "label", "fused", "image-only", "clinical-only"]
    assert {row["split"] for row in rows} == {"test", "val"}

    section = _report(a)["sections"]["paired_tests"]
    assert set(section) == {"image-only", "clinical-only"}
    for baseline, numbers in section.items():
        expected = compare_models(_scores(a, "fused"), _scores(a, baseline))
        assert numbers["delong"] == attrs.asdict(expected.delong)
        assert {k: v for k, v in numbers["mcnemar"].items() if not k.startswith("threshold")} == (
            attrs.asdict(expected.mcnemar)
        )
        comparison = next(c for c in _report(a)["comparisons"] if c["baseline"] == baseline)
        assert numbers["bootstrap_difference"] == comparison["difference"]
    markdown = (a / "report" / "report.md").read_text(encoding="utf-8")
    assert "## Paired tests on the same test patients" in markdown
    assert "| fused vs image-only |" in markdown and "McNemar" in markdown
    assert "paired_tests" not in _report(b).get("sections", {})  # one model: no section

    text = (
        CliRunner().invoke(runs, ["compare", "alpha", "beta", "--store", url], catch_exceptions=False).output
    )
    assert "trainer.params.lr" in text and "test.auroc" in text
    assert (
        "paired tests on the same test patients:" in text and "DeLong SE" in text and "Only A right" in text
    )
    compared = json.loads(
        CliRunner()
        .invoke(runs, ["compare", "alpha", "beta", "--store", url, "--json"], catch_exceptions=False)
        .output
    )
    (paired,) = compared["paired_tests"]
    expected = compare_models(_scores(a, "fused"), _scores(b, "clinical-only"))
    assert paired["delong"] == attrs.asdict(expected.delong) and paired["a"] == "alpha"
    assert [run["model"] for run in compared["runs"]] == ["fused", "clinical-only"]
    assert compared["test_metrics"]["test.auroc"][0] == _report(a)["models"]["fused"]["auroc"]

    # a model reference names its registered variant
    registered = CliRunner().invoke(
        models, ["register", "alpha", "--name", "chest", "--variant", "image", "--store", url]
    )
    assert registered.exit_code == 0, registered.output
    CliRunner().invoke(models, ["alias", "chest", "champion", "1", "--store", url], catch_exceptions=False)
    by_model = json.loads(
        CliRunner()
        .invoke(runs, ["compare", "chest@champion", "beta", "--store", url, "--json"], catch_exceptions=False)
        .output
    )
    expected = compare_models(_scores(a, "image-only"), _scores(b, "clinical-only"))
    assert by_model["paired_tests"][0]["delong"] == attrs.asdict(expected.delong)


def test_compare_refuses_different_test_patients_in_one_line(evaluated, medfusion_host, capsys) -> None:
    from medfusion_core.cli import main

    medfusion_host.register(tracking, "medfusion-plugin-tracking")
    root, url = evaluated
    shutil.copytree(root / "beta", root / "gamma")
    table = root / "gamma" / "report" / "predictions.csv"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    dropped = next(line for line in lines[1:] if ",test," in line)
    table.write_text("".join(line for line in lines if line != dropped), encoding="utf-8")
    assert CliRunner().invoke(runs, ["import", str(root / "gamma"), "--store", url]).exit_code == 0

    with pytest.raises(SystemExit) as exit_info:
        main(["runs", "compare", "alpha", "gamma", "--store", url])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    patient = dropped.split(",")[0]
    assert len(err) == 1 and "different patients (1 only in A, 0 only in B" in err[0]
    assert f"only in A: {patient}" in err[0]
