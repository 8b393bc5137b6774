"""MedFusion multi-view aggregators: pool per-view features of a patient under a view mask."""

__version__ = "0.1.0"
