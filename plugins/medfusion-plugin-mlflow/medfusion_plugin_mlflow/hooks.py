"""Registers the ``mlflow`` tracker (an import string only: MLflow is imported when a run starts)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, Param, hookimpl


@hookimpl
def medfusion_register_trackers() -> list[ComponentSpec]:
    """The tracker mirroring every run into an MLflow experiment."""
    return [
        ComponentSpec(
            "mlflow",
            "tracker",
            "medfusion_plugin_mlflow.tracker:MlflowTracker",
            "Mirrors runs into MLflow (params, metrics, status, lineage tags, artifact paths).",
            {
                "uri": Param(
                    "str",
                    None,
                    "MLflow tracking URI; default $MEDFUSION_MLFLOW_URI, then $MLFLOW_TRACKING_URI "
                    "(neither set: the tracker stays inactive)",
                ),
                "flush_seconds": Param(
                    "float", 2.0, "longest time metric points wait before they are sent (0: at once)"
                ),
                "copy_artifacts": Param(
                    "bool", False, "also copy artifact files into MLflow's artifact store"
                ),
            },
        )
    ]
