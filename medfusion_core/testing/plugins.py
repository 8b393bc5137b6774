"""Isolated plugin hosts and fake installed distributions for tests."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from medfusion_core.discovery import ENTRY_POINT_GROUP
from medfusion_core.host import Host, use_host


@contextmanager
def isolated_host(
    *,
    autoload: bool = False,
    allow: Iterable[str] = (),
    disable: Iterable[str] = (),
    strict: bool = False,
) -> Iterator[Host]:
    """A fresh :class:`Host` (autoload off by default, environment lists ignored) that is
    the process-wide host inside the block; the previous host is restored afterwards."""
    host = Host(autoload=autoload, allow=list(allow), disable=list(disable), strict=strict)
    with use_host(host):
        yield host


def install_fake_distribution(
    site: Path,
    name: str,
    *,
    version: str = "1.0.0",
    module_source: str = "",
    requires: Iterable[str] = (),
    module: str | None = None,
) -> Path:
    """Create an importable module plus a ``.dist-info`` with a ``medfusion.plugins`` entry point.

    ``site`` must be (or be put) on ``sys.path``; ``importlib.metadata`` then finds the
    distribution exactly as it finds a pip-installed one. Returns the module file.
    """
    module = module or name.replace("-", "_")
    site.mkdir(parents=True, exist_ok=True)
    module_file = site / f"{module}.py"
    module_file.write_text(textwrap.dedent(module_source), encoding="utf-8")
    dist_info = site / f"{module}-{version}.dist-info"
    dist_info.mkdir(exist_ok=True)
    requires_lines = "".join(f"Requires-Dist: {req}\n" for req in requires)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requires_lines}", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n{module} = {module}\n", encoding="utf-8"
    )
    (dist_info / "RECORD").write_text("", encoding="utf-8")
    if str(site) not in sys.path:
        sys.path.insert(0, str(site))
    sys.modules.pop(module, None)
    return module_file
