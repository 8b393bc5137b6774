"""MedFusion web API."""
