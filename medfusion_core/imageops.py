"""Numpy reference kernels for the image data path (registered with :func:`kernels.reference`)."""

from __future__ import annotations
