"""MedFusion fusion strategies: combine per-modality feature vectors under a modality mask."""

__version__ = "0.1.0"
