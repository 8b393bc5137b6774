"""Error types whose message is a complete, one-line instruction to the user.

The CLI prints ``str(error)`` on one line and exits non-zero; a traceback is shown only
with ``--traceback``.
"""

from __future__ import annotations


class MedFusionError(Exception):
    """Base class: an error the user can act on. ``exit_code`` is what the CLI returns."""

    exit_code = 2


class ConfigError(MedFusionError):
    """A config file is invalid; the message names the file and the dotted field path."""


class PluginError(MedFusionError):
    """A plugin could not be loaded or misbehaved."""


class ComponentNotFoundError(MedFusionError):
    """A component name is unknown; the message suggests close names and lists the kind."""


class AmbiguousComponentError(MedFusionError):
    """Two plugins register the same component name; the message names both packages."""


class DataError(MedFusionError):
    """A manifest, image or split is invalid; the message names the file, row or column."""


class CheckpointError(MedFusionError):
    """A checkpoint is unreadable, truncated or holds non-tensor objects."""


class ExportError(MedFusionError):
    """An export failed or did not verify; the message names the component or check."""
