"""The search space is checked against the config schema before any trial: one line naming the
entry, with a did-you-mean for a misspelt field or component parameter."""

from __future__ import annotations

from pathlib import Path

import pytest
from tune_helpers import medfusion, write_space


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"trainer.params.lrr": {"type": "float", "low": 0.001, "high": 0.01}},
            "params.trainer.params.lrr: unknown parameter 'lrr' of trainer 'default'; did you mean 'lr'?",
        ),
        (
            {"model.fusoin.name": {"type": "categorical", "choices": ["concat"]}},
            "params.model.fusoin.name: unknown field 'fusoin' of model; did you mean 'fusion'?",
        ),
        (
            {"model.tabular": {"type": "float", "low": 0.1, "high": 0.2}},
            "params.model.tabular: model.tabular is a section, not a value",
        ),
        (
            {"model.fusion.name": {"type": "categorical", "choices": ["concat", "gatedd"]}},
            "params.model.fusion.name: 'gatedd' does not fit",
        ),
        (
            {"model.tabular.dropout": {"type": "float", "low": 0.1, "hihg": 0.2}},
            "params.model.tabular.dropout: unknown key 'hihg'; did you mean 'high'?",
        ),
    ],
)
def test_a_bad_space_is_a_one_line_error(demo: Path, tmp_path: Path, params: dict, expected: str) -> None:
    space = write_space(tmp_path / "space.yaml", params)
    outcome = medfusion("tune", demo, "--space", space, "--trials", 1)
    assert outcome.code == 2
    lines = outcome.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {space}: "), outcome.err
    assert expected in lines[0]
    assert not (demo.parent.parent / "runs").exists()  # nothing trained


def test_an_unknown_sampler_is_a_one_line_error(demo: Path, tmp_path: Path) -> None:
    space = write_space(
        tmp_path / "space.yaml", {"model.tabular.dropout": {"type": "float", "low": 0, "high": 0.5}}
    )
    outcome = medfusion("tune", demo, "--space", space, "--trials", 1, "--sampler", "tpee")
    assert outcome.code == 2 and outcome.err.strip() == (
        "error: --sampler tpee: unknown sampler; one of tpe, random, cmaes, qmc, gp, nsgaii"
    )
