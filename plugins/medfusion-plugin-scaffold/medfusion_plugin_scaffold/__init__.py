"""MedFusion's scaffolding plugin: ``medfusion new-plugin`` and the plugin package template."""

__version__ = "0.1.0"
