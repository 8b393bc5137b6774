"""Figures of maps over their views: one row per 2D view, or per shown slice of a volume."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: Slices shown per volume: evenly spaced over the depth, always including the map's peak slice.
SLICES = 4


def shown_slices(depth: int, saliency: np.ndarray | None) -> list[int]:
    """Slice indices of a volume of ``depth`` to show; the slice holding ``saliency``'s peak
    (``[D, H, W]``) is among them."""
    picks = {round(float(x)) for x in np.linspace(0, depth - 1, min(SLICES, depth))}
    if saliency is not None and saliency.max() > 0:
        picks.add(int(np.unravel_index(saliency.argmax(), saliency.shape)[0]))
    return sorted(picks)


def _planes(image: np.ndarray, maps: Mapping[str, np.ndarray]) -> list[tuple[str, np.ndarray, dict]]:
    """``(label, image plane, {method: map plane})`` rows of one view ``[C, *spatial]``."""
    first = image[0]
    if first.ndim == 2:
        return [("", first, dict(maps))]
    peak_map = next(iter(maps.values()), None)
    return [
        (f"slice {z}", first[z], {name: m[z] for name, m in maps.items()})
        for z in shown_slices(first.shape[0], peak_map)
    ]


def overlay_figure(image: np.ndarray, maps: Mapping[str, np.ndarray], title: str):
    """A matplotlib figure: the view (``[C, H, W]`` or ``[C, D, H, W]``; first channel shown) and
    each map of ``maps`` (same spatial shape, values in ``[0, 1]``) over it, one column per map."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = _planes(image, maps)
    columns = 1 + len(maps)
    figure = Figure(figsize=(2.2 * columns, 2.2 * len(rows) + 0.4))
    axes = np.asarray(figure.subplots(len(rows), columns, squeeze=False))
    for r, (label, plane, planes) in enumerate(rows):
        axes[r, 0].imshow(plane, cmap="gray")
        axes[r, 0].set_title(f"image {label}".strip(), fontsize=8)
        for c, (name, values) in enumerate(planes.items(), start=1):
            axes[r, c].imshow(plane, cmap="gray")
            axes[r, c].imshow(values, cmap="jet", alpha=0.45, vmin=0.0, vmax=1.0)
            axes[r, c].set_title(name, fontsize=8)
    for axis in axes.flat:
        axis.set_axis_off()
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return figure


def save_png(path, figure) -> None:
    """Write ``figure`` as a PNG at ``path``, atomically."""
    import io

    from medfusion_core.runs.io import atomic_write

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    atomic_write(path, lambda handle: handle.write(buffer.getvalue()))
