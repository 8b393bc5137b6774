"""MedFusion workflows: nodes, the ``.medfusion`` format, validation, templates, the execution
engine and the training service (see the README)."""
