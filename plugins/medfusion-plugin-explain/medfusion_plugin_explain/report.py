"""The report section: Grad-CAM of the most confident positives, the false positives and the
false negatives of the reference model on test (binary tasks with an image branch), and the
lesion-mask scores (pointing game, IoU) of every variant with images where the data has masks."""

from __future__ import annotations

from typing import Any

import numpy as np

from medfusion_core.config import ExperimentConfig
from medfusion_core.kinds.report import ReportContext, ReportSection, ReportTable

#: Patients shown per group.
TOP_K = 3
_VARIANTS = {"fused": "fused", "image-only": "image"}


def chosen_patients(
    y_true: np.ndarray, scores: np.ndarray, threshold: float, k: int = TOP_K
) -> dict[str, list[int]]:
    """Row indices per group: ``top`` (highest scores), ``false_positives`` (negatives at or above
    ``threshold``, most confident first) and ``false_negatives`` (positives below, lowest first)."""
    order = np.argsort(-scores, kind="stable")
    fp = [int(i) for i in order if y_true[i] == 0 and scores[i] >= threshold]
    fn = [int(i) for i in order[::-1] if y_true[i] == 1 and scores[i] < threshold]
    return {"top": [int(i) for i in order[:k]], "false_positives": fp[:k], "false_negatives": fn[:k]}


def _threshold(context: ReportContext, label: str) -> float:
    entry = context.metrics.get("models", {}).get(label, {}).get("threshold")
    return float(entry["value"]) if isinstance(entry, dict) else 0.5


def _grid(rows: list[tuple[str, np.ndarray, np.ndarray]]) -> Any:
    """One row per (title, image ``[C, ...]``, Grad-CAM map): the image and its overlay (the peak
    slice for volumes)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.4, 2.2 * len(rows) + 0.2))
    axes = np.asarray(figure.subplots(len(rows), 2, squeeze=False))
    for r, (title, image, saliency) in enumerate(rows):
        plane, values = image[0], saliency
        if plane.ndim == 3:
            z = int(np.unravel_index(saliency.argmax(), saliency.shape)[0])
            plane, values = plane[z], saliency[z]
        axes[r, 0].imshow(plane, cmap="gray")
        axes[r, 0].set_title(title, fontsize=7)
        axes[r, 1].imshow(plane, cmap="gray")
        axes[r, 1].imshow(values, cmap="jet", alpha=0.45, vmin=0.0, vmax=1.0)
        axes[r, 1].set_title("Grad-CAM", fontsize=7)
    for axis in axes.flat:
        axis.set_axis_off()
    figure.tight_layout()
    return figure


def _mask_scores(context: ReportContext, loaded: dict[str, Any]) -> dict[str, Any]:
    """``{label: mask scores}`` of every loaded variant over the test split (variants without
    masked test views left out)."""
    from medfusion_plugin_explain.explain import ExplainOptions, mask_agreement

    found = {
        label: mask_agreement(model, data, "test", context.task, ExplainOptions())
        for label, (model, data) in loaded.items()
    }
    return {label: scores for label, scores in found.items() if scores}


class ExplanationSection:
    """Report part ``explanations``: overlays of top-k, false-positive and false-negative patients
    (binary tasks) and, where the data has lesion masks, the pointing game and IoU of every map
    per variant."""

    title = "Explanations"
    order = 60

    def __init__(self, k: int = TOP_K) -> None:
        self.k = k

    def render(self, context: ReportContext) -> ReportSection | None:
        """The section, or ``None`` (no run, no variant with images, nothing to show)."""
        labels = [name for name in context.predictions if name in _VARIANTS]
        if context.run_dir is None or not labels:
            return None
        from medfusion_core.runs.loading import load_variant, open_run

        run = open_run(context.run_dir)
        label = context.reference if context.reference in labels else labels[0]
        masked = run.config.data.mask is not None
        loaded = {
            name: (load_variant(run, _VARIANTS[name]), run.prepare_data(_VARIANTS[name]))
            for name in (labels if masked else [label])
        }
        section = ReportSection(heading="Explanations")
        if context.task == "binary" and context.predictions[label].test.patient_ids is not None:
            self._groups(context, label, *loaded[label], section)
        if masked:
            self._masks(context, run.config, loaded, section)
        return section if section.tables else None

    def _masks(
        self,
        context: ReportContext,
        config: ExperimentConfig,
        loaded: dict[str, Any],
        section: ReportSection,
    ) -> None:
        """The lesion-mask table (and ``metrics["mask_scores"]``) of every variant."""
        from medfusion_plugin_explain.evidence import MASK_HEADER, mask_rows, supervision

        scores = _mask_scores(context, loaded)
        if not scores:
            return
        trained = supervision(config)
        section.paragraphs.append(
            "Agreement of each map with the lesion masks over the test views that have one: the "
            "pointing game (the map's peak inside the lesion), the IoU of the map's region (half "
            "way from its minimum to its maximum) with the mask and the map's mass inside it. "
            f"Attention supervision of this run: {trained}."
        )
        section.tables.append(ReportTable(MASK_HEADER, mask_rows(scores), "Lesion masks (test split)"))
        section.metrics["mask_scores"] = scores
        section.metrics["attention_supervision"] = trained

    def _groups(
        self, context: ReportContext, label: str, model: Any, data: Any, section: ReportSection
    ) -> None:
        """Overlays and table of the top-k, false-positive and false-negative patients of ``label``."""
        from medfusion_plugin_explain.cam import class_activation_maps
        from medfusion_plugin_explain.explain import batches_of, patient_indices, view_names

        test = context.predictions[label].test
        threshold = _threshold(context, label)
        groups = chosen_patients(np.asarray(test.y_true), np.asarray(test.scores), threshold, self.k)
        section.paragraphs.append(
            f"Grad-CAM of the {label} model on test patients (threshold {threshold:.3f}): the most "
            "confident predictions, the false positives and the false negatives, first view of each."
        )
        table = ReportTable(["group", "patient", "label", "score"], [])
        for group, rows in groups.items():
            if not rows:
                continue
            ids = [str(test.patient_ids[i]) for i in rows]
            indices = patient_indices(data, ids)
            batch = batches_of(data, indices, len(indices))[0]
            maps, _ = class_activation_maps(model, batch, task="binary", methods=("gradcam",))
            panels = []
            for row, (i, index) in enumerate(zip(rows, indices, strict=True)):
                name = (view_names(data, index) or ["no view"])[0]
                panels.append(
                    (
                        f"{ids[row]} · {name} · {test.scores[i]:.2f}",
                        batch["images"][row, 0].numpy(),
                        maps["gradcam"][row, 0].numpy(),
                    )
                )
                table.rows.append(
                    [group.replace("_", " "), ids[row], str(test.y_true[i]), f"{test.scores[i]:.3f}"]
                )
            section.figures.append(
                context.save_figure(
                    f"explain-{group.replace('_', '-')}",
                    _grid(panels),
                    f"Grad-CAM: {group.replace('_', ' ')}",
                )
            )
        section.tables.append(table)
        section.metrics["patients"] = {
            g: [str(test.patient_ids[i]) for i in rows] for g, rows in groups.items()
        }
