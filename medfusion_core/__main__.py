"""``python -m medfusion_core`` runs the ``medfusion`` command."""

from medfusion_core.cli import main

main()
