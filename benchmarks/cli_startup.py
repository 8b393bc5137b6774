"""Start-up cost of `medfusion list-plugins --json` relative to `python -c "import torch"`.

Both run as fresh processes with the workspace's interpreter and every installed plugin
discovered; interleaved, median wall time (``benchmarks/_timing.py``), measured in the same run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result_line
from _timing import Contender, measure, ratio

REPEATS = 7


def run(*args: str) -> None:
    """Run the interpreter with ``args``; fail loudly if it fails."""
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    """Measure both commands and print the ratio."""
    timings = measure(
        [
            Contender("list-plugins --json", lambda: run("-m", "medfusion_core", "list-plugins", "--json")),
            Contender("import torch", lambda: run("-c", "import torch")),
        ],
        repeats=REPEATS,
        title="fresh interpreter processes",
    )
    fraction = 1 / ratio(timings["import torch"], timings["list-plugins --json"])
    print(result_line("list_plugins_vs_import_torch", fraction, "<=", 0.08))


if __name__ == "__main__":
    main()
