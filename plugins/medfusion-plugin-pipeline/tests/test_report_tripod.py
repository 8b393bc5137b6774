"""A tiny quickstart-like run (train all variants -> evaluate): the report has every TRIPOD+AI
section, the checklist covers every TRIPOD+AI item, and its numbers are those of metrics.json."""

from __future__ import annotations

from importlib import metadata

from medfusion_plugin_evaluation.run import evaluate_run
from medfusion_plugin_pipeline.training import train_run

from medfusion_core import runs
from medfusion_core.config import load_config

SECTIONS = [
    "Summary",
    "Source of data and cohort",
    "Missing data",
    "The model",
    "Models side by side",
    "Calibration and operating point",
    "Plots",
    "Confusion matrices",
    "Subgroups",
    "Classification rates per subgroup",
    "TRIPOD+AI checklist",
]


def test_the_report_of_a_run_stands_up_to_tripod_ai(host, tiny_demo, tmp_path):
    config = load_config(tiny_demo(tmp_path / "data", 30))
    paths, _ = train_run(config, modalities="all")
    evaluate_run(paths.root)
    markdown = (paths.report / "report.md").read_text(encoding="utf-8")
    metrics = runs.read_json(paths.report / "metrics.json")
    assert "section_errors" not in metrics
    headings = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == SECTIONS
    assert (paths.report / "report.pdf").read_bytes().startswith(b"%PDF-")

    sections = metrics["sections"]
    splits = runs.read_splits(paths.splits)
    counts = {split: list(splits.values()).count(split) for split in ("train", "val", "test")}
    assert sections["cohort"]["patients"] == counts
    assert sum(sections["cohort"]["patients"].values()) == 30
    fusion = "medfusion-plugin-fusion"
    assert sections["model"]["versions"][fusion] == metadata.version(fusion)
    assert sections["model"]["seed"] == config.seed and sections["model"]["parameters"]["fused"] > 0

    items = sections["tripod_checklist"]["items"]
    assert list(items) == [str(number) for number in range(1, 28)]  # every TRIPOD+AI item, in order
    for number, where in items.items():
        named = [heading for heading in SECTIONS if heading in where]
        assert named or "to be completed by the authors" in where or "not applicable" in where, number
    patients = sections["cohort"]["patients"]
    assert f"train {patients['train']}, val {patients['val']}, test {patients['test']}" in items["10"]
    fused = metrics["models"]["fused"]
    auroc = fused["auroc"]
    assert f"AUROC {auroc['value']:.3f} ({auroc['low']:.3f}–{auroc['high']:.3f})" in items["23"]
    assert f"Brier {fused['brier']['value']:.3f}, ECE {fused['ece']:.3f}" in items["23"]
    assert "50 bootstrap resamples" in items["12"] and "(50 resamples of the test set" in markdown

    calibration = sections["calibration"]
    assert set(calibration) == {"fused", "image-only", "clinical-only"}
    slope = calibration["fused"]["calibration_slope"]
    assert slope["low"] <= slope["value"] <= slope["high"]
    rates = sections["subgroup_rates"]["site"]["fused"]
    assert set(rates) == {"A", "B"} and set(rates["A"]) == {"sensitivity", "specificity", "ppv", "npv"}
    assert "operating point" in markdown and "average precision" in markdown
