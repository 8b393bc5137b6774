"""Start-up cost of `medfusion list-plugins --json` relative to `python -c "import torch"`.

Both run as fresh processes with the workspace's interpreter and every installed plugin
discovered; medians of several runs, measured in the same run of this script.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import median_seconds, result_line

REPEATS = 7


def run(*args: str) -> None:
    """Run the interpreter with ``args``; fail loudly if it fails."""
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    """Measure both commands and print the ratio."""
    listing = median_seconds(lambda: run("-m", "medfusion_core", "list-plugins", "--json"), REPEATS)
    torch = median_seconds(lambda: run("-c", "import torch"), REPEATS)
    print(f"medfusion list-plugins --json: median {listing * 1000:.0f} ms over {REPEATS} runs")
    print(f"python -c 'import torch':       median {torch * 1000:.0f} ms over {REPEATS} runs")
    print(result_line("list_plugins_vs_import_torch", listing / torch, "<=", 0.08))


if __name__ == "__main__":
    main()
