"""The RESULT line every benchmark prints (timing is ``_timing.py``)."""

from __future__ import annotations


def result_line(figure: str, value: float, op: str, target: float) -> str:
    """``RESULT <figure>: <value> (target <op> <target>) ok|below`` as DESIGN.md specifies."""
    met = value <= target if op == "<=" else value >= target
    return f"RESULT {figure}: {value:.3g} (target {op} {target:g}) {'ok' if met else 'below'}"
