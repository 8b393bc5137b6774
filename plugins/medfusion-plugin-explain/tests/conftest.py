"""Shared fixtures: a tiny CNN trained to find a synthetic lesion (trained once per session)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from explain_helpers import register, tiny_model, train_lesion_model

from medfusion_core.testing.plugins import isolated_host


@pytest.fixture(scope="session")
def lesion_model():
    """``(model, held-out accuracy)``: the tiny image-only CNN trained on the lesion task."""
    with isolated_host() as host:
        register(host)
        model = tiny_model(params={"width": 8})
    return model, train_lesion_model(model)
