"""The MedFusion web application, built: ``ASSETS`` is the folder of the built frontend
(``index.html`` and ``assets/``) that ``medfusion serve`` finds through the ``medfusion.web`` entry
point and serves at ``/``."""

from __future__ import annotations

from pathlib import Path

#: The folder holding the built web app (``index.html`` and its hashed ``assets/``).
ASSETS: str = str(Path(__file__).resolve().parent / "static")
