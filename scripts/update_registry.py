"""Regenerate the first-party entries of registry.json (and the core's shipped copy) from the
plugin packages under plugins/ and native/; third-party and example entries are kept.

Run with the workspace's Python and no arguments: ``.venv/bin/python scripts/update_registry.py``.
"""

from __future__ import annotations

from pathlib import Path

from medfusion_core.catalogue import update_registry

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Rewrite the catalogue files that are out of date and say which."""
    changed = update_registry(ROOT)
    for path in changed:
        print(f"updated {path.relative_to(ROOT)}")
    if not changed:
        print("registry.json is up to date")


if __name__ == "__main__":
    main()
