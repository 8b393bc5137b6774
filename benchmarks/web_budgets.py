"""Performance budgets of the web app (issue 16): builds the frontend and prints

- the initial JavaScript gzipped (what index.html loads before any route's chunk; target
  <= 250 KB), against the whole app's JavaScript gzipped (what one unsplit bundle would ship);
- the first contentful paint of the runs page holding 200 runs in headless Chromium (Debian's
  /usr/bin/chromium through playwright-core; target < 1 s), against the same 200-row table as
  plain server-rendered HTML with no JavaScript, measured in the same run.

The pages are served by the plugin's loopback dev server (``devserver.serve``), which answers
the app's files and the two API calls the runs page makes (``/api/auth/me`` and ``/api/runs``)
with 200 synthetic runs, so the figure is the frontend's own cost. ``--repeats``: page loads per median.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line
from medfusion_plugin_web.assets import initial_files
from medfusion_plugin_web.devserver import serve
from medfusion_plugin_web.frontend import FRONTEND, build

N_RUNS = 200


def synthetic_runs(count: int) -> list[dict]:
    """``count`` finished runs with a few params and metrics, as ``/api/runs`` lists them (every
    field of the server's ``Run`` answer)."""
    return [
        {
            "id": f"{i:032x}",
            "name": f"run-{i:03d}",
            "experiment": "budget",
            "status": "finished",
            "start_time": 1_760_000_000 + i * 60,
            "end_time": 1_760_000_030 + i * 60,
            "run_dir": f"/runs/run-{i:03d}",
            "data_fingerprint": None,
            "lineage": {},
            "parent_run_id": None,
            "params": {"model.backbone.name": "tiny", "training.epochs": "2"},
            "metrics": {"val_auroc": 0.5 + (i % 50) / 100, "val_loss": 1 - (i % 50) / 100, "test_auroc": 0.7},
            "tags": {},
        }
        for i in range(count)
    ]


def static_table(runs: list[dict]) -> bytes:
    """The same table as plain HTML (the no-JavaScript baseline)."""
    rows = "".join(
        f"<tr><td>{html.escape(r['name'])}</td><td>{r['status']}</td>"
        + "".join(f"<td>{v:.3g}</td>" for v in r["metrics"].values())
        + "</tr>"
        for r in runs
    )
    return (
        f"<!doctype html><html><body><h1>Runs</h1><table><tbody>{rows}</tbody></table></body></html>".encode()
    )


def gzipped_kb(paths: list[Path]) -> float:
    """Total gzipped size (level 9) of ``paths`` in KB."""
    return sum(len(gzip.compress(p.read_bytes(), 9)) for p in paths) / 1000


def first_paint(url: str, repeats: int) -> dict:
    """Median first contentful paint and time to 200 rows of ``url`` in headless Chromium."""
    result = subprocess.run(
        ["node", "e2e/first-paint.mjs", url, str(N_RUNS), str(repeats)],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    """Build, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="page loads per median")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dist = build(Path(tmp) / "dist")
        initial = [p for p in initial_files(dist) if p.suffix == ".js"]
        every = sorted((dist / "assets").glob("*.js"))
        initial_kb, total_kb = gzipped_kb(initial), gzipped_kb(every)
        print(f"initial JS: {len(initial)} files, {initial_kb:.1f} KB gzipped")
        print(f"all JS:     {len(every)} files, {total_kb:.1f} KB gzipped")
        runs = synthetic_runs(N_RUNS)
        answers = {
            "GET /api/auth/me": {"id": 1, "username": "bench", "role": "viewer", "created": 0.0},
            "GET /api/runs": runs,
        }
        with serve(dist, answers, {"/static-runs": static_table(runs)}) as base:
            app = first_paint(f"{base}/runs", args.repeats)
            plain = first_paint(f"{base}/static-runs", args.repeats)
    for label, timing in ((f"runs page ({N_RUNS} runs)", app), ("static HTML table", plain)):
        print(
            f"{label}: FCP {timing['fcp_ms']:.0f} ms, table shown at {timing['rows_ms']:.0f} ms"
            f" (median of {timing['samples']})"
        )
    print(result_line("web_initial_js_gzip_kb", initial_kb, "<=", 250))
    print(result_line("web_initial_vs_unsplit_js", initial_kb / total_kb, "<=", 0.5))
    print(result_line("web_runs_page_fcp_seconds", app["fcp_ms"] / 1000, "<=", 1.0))
    print(result_line("web_runs_page_fcp_vs_static_html", app["fcp_ms"] / plain["fcp_ms"], "<=", 5))


if __name__ == "__main__":
    main()
