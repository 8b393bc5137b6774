"""MedFusion evaluation: the ``evaluate`` command, metrics, the report and its ``report`` parts.

The public names are in :mod:`medfusion_plugin_evaluation.api`; this package imports nothing, so
that loading the plugin's hooks (``medfusion list-plugins``) imports neither numpy nor torch.
"""

__version__ = "0.1.0"
