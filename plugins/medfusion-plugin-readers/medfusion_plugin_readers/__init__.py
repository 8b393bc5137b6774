"""MedFusion's image readers: Pillow, pydicom, nibabel and NumPy."""

__version__ = "0.1.0"
