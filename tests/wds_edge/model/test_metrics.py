"""Metrics (Eqs. 7-10) on hand-built confusion matrices."""

from __future__ import annotations

import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.model.metrics import (
    ConfusionCounts,
    MetricAccumulator,
    confusion_counts,
    mask_iou,
    metrics_from_counts,
    segmentation_metrics,
)

# 10 pixels: TP = 3, FP = 1, FN = 2, TN = 4
PRED = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
GT = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0], dtype=bool)


def test_known_confusion_matrix() -> None:
    assert confusion_counts(PRED, GT) == ConfusionCounts(tp=3, fp=1, tn=4, fn=2)
    m = segmentation_metrics(PRED, GT)
    assert m == pytest.approx(
        {"jsi": 3 / 6, "accuracy": 7 / 10, "sensitivity": 3 / 5, "specificity": 4 / 5}
    )


def test_fov_restricts_the_count() -> None:
    fov = np.ones(10, bool)
    fov[[3, 4]] = False  # drop the FP and one FN
    assert confusion_counts(PRED, GT, fov) == ConfusionCounts(tp=3, fp=0, tn=4, fn=1)
    assert segmentation_metrics(PRED, GT, fov)["jsi"] == pytest.approx(3 / 4)


def test_pooled_differs_from_per_image_mean() -> None:
    acc = MetricAccumulator()
    acc.add(PRED.reshape(2, 5), GT.reshape(2, 5))  # TP 3 FP 1 FN 2 TN 4 -> JSI 1/2
    acc.add(np.array([1, 0, 0, 0]), np.array([1, 1, 1, 1]))  # TP 1 FN 3 -> JSI 1/4
    # pooled: TP 4, FP 1, FN 5, TN 4 -> JSI 4/10, sensitivity 4/9, accuracy 8/14
    assert acc.pooled()["jsi"] == pytest.approx(0.4)
    assert acc.pooled()["sensitivity"] == pytest.approx(4 / 9)
    assert acc.pooled()["accuracy"] == pytest.approx(8 / 14)
    assert acc.per_image_mean()["jsi"] == pytest.approx((0.5 + 0.25) / 2)
    # image 2 has no negative pixel: specificity 0/0 := 1
    assert acc.per_image_mean()["specificity"] == pytest.approx((0.8 + 1.0) / 2)


def test_empty_cases_and_iou() -> None:
    z = np.zeros((3, 3), bool)
    assert segmentation_metrics(z, z) == {
        "jsi": 1.0,
        "accuracy": 1.0,
        "sensitivity": 1.0,
        "specificity": 1.0,
    }
    assert metrics_from_counts(ConfusionCounts(fp=2, tn=2))["jsi"] == 0.0
    assert mask_iou(np.array([1, 1, 0]), np.array([0, 1, 1])) == pytest.approx(1 / 3)


def test_bad_inputs() -> None:
    with pytest.raises(InvalidInputError, match="binary"):
        segmentation_metrics(np.array([0.2, 0.9]), np.array([0, 1]))
    with pytest.raises(InvalidInputError, match="same shape"):
        segmentation_metrics(np.zeros(3, bool), np.zeros(4, bool))
    with pytest.raises(InvalidInputError, match="no images"):
        MetricAccumulator().per_image_mean()


def test_an_empty_accumulator_has_no_scores() -> None:
    # pooled() used to report a perfect JSI / accuracy of 1.0 over zero images.
    acc = MetricAccumulator()
    with pytest.raises(InvalidInputError, match="no images") as pooled_info:
        acc.pooled()
    with pytest.raises(InvalidInputError, match="no images") as mean_info:
        acc.per_image_mean()
    assert str(pooled_info.value) == str(mean_info.value)
    acc.add(PRED, GT)
    assert acc.pooled() == acc.per_image_mean()
