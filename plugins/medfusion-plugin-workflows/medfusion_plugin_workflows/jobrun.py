"""``python -m medfusion_plugin_workflows.jobrun EXIT_FILE ARGV...``: run a training job's command
and write its exit code to EXIT_FILE, so that a service restarted while the job ran still learns
how it ended."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from medfusion_core.runs.io import atomic_write


def main() -> None:
    """Run ``ARGV`` (output inherited: the job's log), record its exit code, exit with it."""
    exit_file, *argv = sys.argv[1:]
    code = subprocess.call(argv)
    atomic_write(Path(exit_file), lambda handle: handle.write(str(code).encode()))
    sys.exit(code)


if __name__ == "__main__":
    main()
