"""MedFusion tracker mirroring runs into MLflow (registered through ``medfusion_register_trackers``)."""
