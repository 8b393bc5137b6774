"""MedFusion's default trainer plugin (``trainer: {name: default}``)."""

__version__ = "0.1.0"
