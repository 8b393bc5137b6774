"""``medfusion quickstart``: the whole product on the demo data, as a user runs it.

The full run takes minutes on 2 CPU cores and runs in every test session (nothing gates it); the
fast test checks that a bad call is a one-line error that leaves the folder untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from medfusion_plugin_evaluation import tripod


def _medfusion(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDFUSION_")}
    code = "import sys; from medfusion_core.cli import main; sys.argv = ['medfusion', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )


def test_non_empty_folder_is_refused_and_untouched(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    done = _medfusion("quickstart", str(folder))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not empty" in lines[0] and "--force" in lines[0]
    assert os.listdir(folder) == ["notes.txt"] and (folder / "notes.txt").read_text() == "keep me"


def test_quickstart_fused_beats_both_baselines(tmp_path):
    done = _medfusion("quickstart", str(tmp_path / "qs"))
    assert done.returncode == 0, done.stderr[-2000:]
    report = done.stdout.strip().splitlines()[-1].removeprefix("report: ")
    assert report.endswith("report.html") and os.path.isfile(report)
    metrics = json.loads((tmp_path / "qs/runs/demo/report/metrics.json").read_text())
    auroc = {label: model["auroc"]["value"] for label, model in metrics["models"].items()}
    assert auroc["fused"] > auroc["image-only"] and auroc["fused"] > auroc["clinical-only"], auroc
    markdown = (tmp_path / "qs/runs/demo/report/report.md").read_text(encoding="utf-8")
    headings = {line[3:] for line in markdown.splitlines() if line.startswith("## ")}
    parts = [tripod.COHORT, tripod.MISSING, tripod.MODEL, tripod.CALIBRATION, tripod.RATES, tripod.CHECKLIST]
    assert set(parts) <= headings, headings  # every TRIPOD+AI part is in the quickstart report
    assert metrics["sections"]["tripod_checklist"]["items"].keys() == {str(n) for n in range(1, 28)}
    assert metrics["settings"]["n_resamples"] == 2000 and "2000 resamples of the test set" in markdown
    listed = _medfusion("runs", "list", "--json", "--runs-dir", str(tmp_path / "qs/runs"))
    assert listed.returncode == 0, listed.stderr[-2000:]
    (run,) = json.loads(listed.stdout)  # the default tracking store, beside the run folder
    assert (run["name"], run["status"]) == ("demo", "finished")
    for variant in ("fused", "image-only", "clinical-only"):
        assert {f"{variant}/val_auroc", f"{variant}/test_auroc"} <= set(run["metrics"]), run["metrics"]
