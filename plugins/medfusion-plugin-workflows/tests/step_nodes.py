"""A third-party node plugin for the tests: nothing but the ``medfusion_register_nodes`` hook.

``step`` runs a child process that sleeps ``seconds`` (then waits for the file ``gate``, when
given) and appends ``name`` to ``record`` when it ends, so that tests count real executions;
``fail`` makes it exit non-zero; ``fingerprint`` records a dataset of that fingerprint.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from medfusion_core import ComponentSpec, hookimpl

PLUGIN = "medfusion-plugin-teststeps"


@attrs.frozen
class StepParams:
    """What the step does."""

    name: str
    seconds: float = 0.0
    record: str = ""
    fail: bool = False
    gate: str = ""
    fingerprint: str = ""


class StepNode:
    """Sleeps in a child process, records its name, passes the names of its inputs on."""

    inputs: ClassVar[Mapping[str, str]] = {"after": "names[]"}
    outputs: ClassVar[Mapping[str, str]] = {"names": "names[]"}
    optional: ClassVar[frozenset[str]] = frozenset({"after"})
    params = StepParams

    def run(self, inputs: Mapping[str, Any], params: StepParams, context: Any) -> dict[str, Any]:
        """Sleep, then record (or fail)."""
        code = (
            "import os, sys, time; time.sleep(float(sys.argv[1]));"
            "exec('while sys.argv[5] and not os.path.exists(sys.argv[5]): time.sleep(0.05)');"
            "sys.argv[3] and open(sys.argv[3], 'a').write(sys.argv[2] + '\\n');"
            "sys.exit('step failed on purpose' if sys.argv[4] == '1' else 0)"
        )
        context.call(
            [
                sys.executable,
                "-c",
                code,
                str(params.seconds),
                params.name,
                params.record,
                "1" if params.fail else "0",
                params.gate,
            ]
        )
        if params.fingerprint:
            context.record_dataset(name=params.name, fingerprint=params.fingerprint, manifest=params.record)
        return {"names": [*inputs.get("after", []), params.name]}


@hookimpl
def medfusion_register_nodes() -> list[ComponentSpec]:
    """The ``step`` node."""
    return [
        ComponentSpec("step", "node", "step_nodes:StepNode", "Sleep in a child process and record the name.")
    ]
