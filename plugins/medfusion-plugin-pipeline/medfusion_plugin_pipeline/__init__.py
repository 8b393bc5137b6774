"""MedFusion's main job: train, predict, quickstart and demo data (``medfusion train`` ...)."""

__version__ = "0.1.0"
