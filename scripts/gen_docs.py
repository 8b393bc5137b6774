"""Regenerate the generated pages of docs/ (config, CLI and hook references, plugin pages).

Run with the workspace's Python and no arguments: ``.venv/bin/python scripts/gen_docs.py``.
Pages written by hand (guides) are never touched.
"""

from __future__ import annotations

from pathlib import Path

from medfusion_core.docsgen import write_docs

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Write the pages that are out of date and say which."""
    changed = write_docs(ROOT)
    for path in changed:
        print(f"updated {path}")
    if not changed:
        print("docs are up to date")


if __name__ == "__main__":
    main()
