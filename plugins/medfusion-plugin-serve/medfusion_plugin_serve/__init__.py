"""MedFusion prediction server: ``medfusion serve-model`` (see the plugin README)."""
