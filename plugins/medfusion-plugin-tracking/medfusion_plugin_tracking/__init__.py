"""MedFusion experiment tracking: the store, the built-in tracker, the model registry."""
