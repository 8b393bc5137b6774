"""``medfusion workflow``: validate prints one line per problem, run/status/cancel/resume work
without a server, bad files and ids are one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner
from medfusion_plugin_workflows.cli import workflow


def _invoke(*args: str):
    """The ``workflow`` group in this process (so that the test host's ``step`` node is known)."""
    return CliRunner().invoke(workflow, list(args), catch_exceptions=False)


def test_validate_reports_one_line_per_problem(steps_host, steps, tmp_path) -> None:
    good = tmp_path / "good.medfusion"
    good.write_text(json.dumps(steps({"a": {}, "b": {}}, [("a", "b")])))
    assert _invoke("validate", str(good)).output == f"{good}: ok\n"
    bad = tmp_path / "bad.medfusion"
    bad.write_text(json.dumps(steps({"a": {"seconds": "x"}, "b": {}}, [("a", "b"), ("b", "a")])))
    done = _invoke("validate", str(bad))
    assert done.exit_code == 1
    assert done.output.splitlines() == [
        f"{bad}: node 'a', edges: cycle: a -> b -> a",
        f"{bad}: node 'a', params.seconds: 'x' is not a number",
    ]


def test_bad_file_is_one_line_error(tmp_path) -> None:
    broken = tmp_path / "broken.medfusion"
    broken.write_text("{")
    done = subprocess.run(
        [sys.executable, "-m", "medfusion_core", "workflow", "validate", str(broken)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: {broken}: not JSON (line 1, column 2: Expecting property name enclosed in double quotes)"
    ]


def test_run_status_and_resume_from_the_cli(steps_host, steps, tmp_path) -> None:
    path = tmp_path / "wf.medfusion"
    a = {"fingerprint": "sha256:f00d", "record": str(tmp_path / "a.txt")}
    path.write_text(json.dumps(steps({"a": a, "bad": {"fail": True}, "c": {}}, [("bad", "c")])))
    runs = str(tmp_path / "runs")
    done = _invoke("run", str(path), "--runs-dir", runs)
    assert done.exit_code == 1
    lines = done.output.splitlines()
    eid = lines[0].split()[1].rstrip(":")
    assert "a: finished" in lines and "c: skipped (bad)" in lines and lines[-1] == f"execution {eid}: failed"
    status = _invoke("status", "--runs-dir", runs).output
    assert status.split() == [eid, "failed", "steps"]
    detail = _invoke("status", eid[:8], "--runs-dir", runs).output.splitlines()
    assert detail[0].startswith(f"{eid}  failed  steps") and detail[1].split()[:3] == [
        "a",
        "finished",
        "step",
    ]
    assert detail[-1] == "  dataset     a  sha256:f00d"  # what node a recorded through its context
    resumed = _invoke("resume", eid[:8], "--runs-dir", runs)
    assert resumed.exit_code == 1 and "a: cached" in resumed.output and "bad: failed" in resumed.output
    as_json = json.loads(_invoke("status", eid, "--runs-dir", runs, "--json").output)
    assert as_json["nodes"]["a"]["state"] == "cached" and as_json["nodes"]["bad"]["attempts"] == 2
    assert [row["fingerprint"] for row in as_json["records"]["datasets"]] == ["sha256:f00d"]  # not twice


def test_templates_are_listed_and_printed() -> None:
    listed = _invoke("templates").output.split("\n")
    assert [line.split()[0] for line in listed if line] == ["export-champion", "kfold", "quickstart"]
    printed = _invoke("template", "quickstart").output
    assert json.loads(printed)["name"] == "quickstart"
