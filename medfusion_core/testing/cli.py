"""Running the ``medfusion`` CLI inside a test, as its console script runs it."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator

import attrs

from medfusion_core.testing.plugins import isolated_host


@attrs.frozen
class Outcome:
    """What one ``medfusion`` call printed and returned."""

    code: int
    out: str
    err: str

    def ok(self) -> Outcome:
        """This outcome, after checking the command succeeded (its output is the failure message)."""
        assert self.code == 0, self.err + self.out
        return self


@contextlib.contextmanager
def _without_medfusion_env() -> Iterator[None]:
    saved = {name: value for name, value in os.environ.items() if name.startswith("MEDFUSION_")}
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(saved)


def medfusion(*args: object) -> Outcome:
    """``medfusion ARGS`` through the console entry point (``medfusion_core.cli.main``) with the
    installed plugins and the ``MEDFUSION_*`` environment variables cleared; the previous plugin
    host and environment are restored. Errors are seen as a user sees them: one line on stderr
    and a non-zero code."""
    from medfusion_core.cli import main

    out, err = io.StringIO(), io.StringIO()
    with (
        _without_medfusion_env(),
        isolated_host(),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            main([str(arg) for arg in args])
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
    return Outcome(code, out.getvalue(), err.getvalue())
