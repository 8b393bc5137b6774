"""Test helpers: a small demo config and search space files (``medfusion`` runs the CLI)."""

from __future__ import annotations

from pathlib import Path

import yaml

from medfusion_core.testing.cli import medfusion

__all__ = ["PATIENTS", "medfusion", "small_config", "write_space"]

#: Demo patients: small so that one trial trains in seconds.
PATIENTS = 24


def small_config(folder: Path, runs_dir: Path) -> Path:
    """The demo config in ``folder`` made small (resnet10t, 32 px, one epoch); its path."""
    path = folder / "config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["data"]["image"]["size"] = [32, 32]
    config["data"]["loader"] = {"backend": "threads", "batch_size": 8, "workers": 1}
    config["model"]["backbone"] = {"name": "resnet10t"}
    config["trainer"]["params"] = {"epochs": 1, "lr": 0.002, "progress": "never"}
    config["runs_dir"] = str(runs_dir)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def write_space(path: Path, params: dict, **top: object) -> Path:
    """A search space file with ``params`` (and top-level keys); its path."""
    path.write_text(yaml.safe_dump({**top, "params": params}), encoding="utf-8")
    return path
