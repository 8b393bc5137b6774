"""Run benchmark scripts several times in a row and check that their ratios hold still.

``python benchmarks/run_all.py [--runs 3] [SCRIPT ...]`` runs each script (default: every
benchmark) ``--runs`` times, one after the other, collects its ``RESULT`` lines and prints, per
figure, every value, the median, the largest deviation from the median (the stability check of
benchmarks/README.md: within ±15 %) and whether the median meets the target; a run's ``host
ceiling`` lines (``_timing.thread_scaling``) are printed as they come. ``--markdown``
prints the same as a table for benchmarks/README.md. Arguments for one script go after a colon:
``workflow.py:--patients=60,--epochs=2``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULT = re.compile(r"^RESULT (?P<figure>\S+): (?P<value>\S+) \(target (?P<op><=|>=) (?P<target>\S+)\)")


def scripts() -> list[str]:
    """Every benchmark script in this folder (helpers start with ``_``)."""
    return sorted(p.name for p in HERE.glob("*.py") if not p.name.startswith("_") and p.name != "run_all.py")


def run(script: str, extra: list[str]) -> dict[str, tuple[float, str, float]]:
    """One run of ``script``: ``{figure: (value, op, target)}``; a failing script stops everything."""
    done = subprocess.run([sys.executable, str(HERE / script), *extra], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{script} failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    found = {}
    for line in done.stdout.splitlines():
        match = RESULT.match(line)
        if match:
            found[match["figure"]] = (float(match["value"]), match["op"], float(match["target"]))
        elif line.strip().startswith("host ceiling"):
            print(f"{script}: {line.strip()}", flush=True)  # the bound of this run's 2-thread figures
    return found


def main() -> None:
    """Run, collect, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts", nargs="*", help="script[:arg,arg]; default: all")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rows = []
    for item in args.scripts or scripts():
        script, _, extra = item.partition(":")
        runs = [run(script, [a for a in extra.split(",") if a]) for _ in range(args.runs)]
        for figure in runs[0]:
            values = [r[figure][0] for r in runs if figure in r]
            _, op, target = runs[0][figure]
            median = statistics.median(values)
            deviation = max(abs(v - median) for v in values) / abs(median) if median else 0.0
            met = median <= target if op == "<=" else median >= target
            rows.append((script, figure, values, median, deviation, op, target, met))
            print(
                f"{script:<24} {figure:<52} {' '.join(f'{v:.3g}' for v in values):<24} median {median:.3g}"
                f" ±{deviation * 100:.0f}% target {op} {target:g} {'ok' if met else 'below'}",
                flush=True,
            )
    if args.markdown:
        print("\n| script | figure | runs | median | max deviation | target | met |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for script, figure, values, median, deviation, op, target, met in rows:
            runs_text = ", ".join(f"{v:.3g}" for v in values)
            print(
                f"| {script} | `{figure}` | {runs_text} | {median:.3g} | {deviation * 100:.0f} % "
                f"| {op} {target:g} | {'yes' if met else 'no'} |"
            )


if __name__ == "__main__":
    main()
