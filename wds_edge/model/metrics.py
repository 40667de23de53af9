"""Segmentation metrics of the paper: JSI (Eq. 7), accuracy, sensitivity, specificity (Eqs. 8-10).

Numpy only, shared by training, evaluation, baselines, export parity and benchmarks.
A set of images is scored *pooled* (confusion counts summed over all pixels of the
set: the paper's protocol) and as a per-image mean. A ratio whose denominator is 0
(e.g. sensitivity on an image without any wrinkle) is defined as 1.0: there was
nothing to find and nothing was missed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from wds_edge.errors import InvalidInputError

__all__ = [
    "METRIC_NAMES",
    "ConfusionCounts",
    "confusion_counts",
    "metrics_from_counts",
    "segmentation_metrics",
    "mask_iou",
    "MetricAccumulator",
]

METRIC_NAMES = ("jsi", "accuracy", "sensitivity", "specificity")


@dataclass(frozen=True)
class ConfusionCounts:
    """Pixel counts of a binary prediction against a binary ground truth."""

    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    def __add__(self, other: ConfusionCounts) -> ConfusionCounts:
        return ConfusionCounts(
            self.tp + other.tp, self.fp + other.fp, self.tn + other.tn, self.fn + other.fn
        )


def _as_bool(array: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(array)
    if a.dtype == bool:
        return a
    if not np.isin(a, (0, 1)).all():
        raise InvalidInputError(
            f"{name} must be binary (bool or 0/1 values); threshold probabilities first "
            f"(found values {np.unique(a)[:5].tolist()}...)"
        )
    return a.astype(bool)


def confusion_counts(
    pred: np.ndarray, gt: np.ndarray, fov: np.ndarray | None = None
) -> ConfusionCounts:
    """Count TP / FP / TN / FN of binary ``pred`` against binary ``gt`` (same shape).

    Args:
        pred: binary prediction (bool or 0/1), any shape.
        gt: binary ground truth, same shape.
        fov: optional binary mask, same shape: only its pixels are counted.
    """
    p = _as_bool(pred, "pred")
    g = _as_bool(gt, "gt")
    if p.shape != g.shape:
        raise InvalidInputError(f"pred {p.shape} and gt {g.shape} must have the same shape")
    if fov is not None:
        f = _as_bool(fov, "fov")
        if f.shape != p.shape:
            raise InvalidInputError(f"fov {f.shape} must have the shape of pred {p.shape}")
        p, g = p[f], g[f]
    tp = int(np.count_nonzero(p & g))
    fp = int(np.count_nonzero(p & ~g))
    fn = int(np.count_nonzero(~p & g))
    tn = int(p.size - tp - fp - fn)
    return ConfusionCounts(tp=tp, fp=fp, tn=tn, fn=fn)


def _ratio(num: int, den: int) -> float:
    return 1.0 if den == 0 else num / den


def metrics_from_counts(counts: ConfusionCounts) -> dict[str, float]:
    """JSI = TP/(TP+FP+FN), accuracy = (TP+TN)/all, sensitivity = TP/(TP+FN),
    specificity = TN/(TN+FP), as floats in [0, 1]."""
    c = counts
    return {
        "jsi": _ratio(c.tp, c.tp + c.fp + c.fn),
        "accuracy": _ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn),
        "sensitivity": _ratio(c.tp, c.tp + c.fn),
        "specificity": _ratio(c.tn, c.tn + c.fp),
    }


def segmentation_metrics(
    pred: np.ndarray, gt: np.ndarray, fov: np.ndarray | None = None
) -> dict[str, float]:
    """Keys ``jsi``, ``accuracy``, ``sensitivity``, ``specificity`` for binary arrays."""
    return metrics_from_counts(confusion_counts(pred, gt, fov))


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two binary masks (1.0 when both are empty)."""
    return segmentation_metrics(a, b)["jsi"]


@dataclass
class MetricAccumulator:
    """Collects per-image confusion counts; reports pooled and per-image-mean metrics."""

    counts: list[ConfusionCounts] = field(default_factory=list)

    def add(self, pred: np.ndarray, gt: np.ndarray, fov: np.ndarray | None = None) -> None:
        self.counts.append(confusion_counts(pred, gt, fov))

    def pooled(self) -> dict[str, float]:
        """Metrics of the summed counts of every image.

        Raises:
            InvalidInputError: no image was added (empty counts would read as perfect).
        """
        self._require_images()
        total = ConfusionCounts()
        for c in self.counts:
            total = total + c
        return metrics_from_counts(total)

    def per_image_mean(self) -> dict[str, float]:
        """Mean over images of each image's metrics.

        Raises:
            InvalidInputError: no image was added.
        """
        self._require_images()
        per = [metrics_from_counts(c) for c in self.counts]
        return {k: float(np.mean([m[k] for m in per])) for k in METRIC_NAMES}

    def _require_images(self) -> None:
        if not self.counts:
            raise InvalidInputError(
                "no images were added to the metric accumulator; call add(pred, gt) for "
                "each scored image before asking for metrics"
            )
