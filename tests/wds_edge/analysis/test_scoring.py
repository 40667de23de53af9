"""Golden tests of Eq. 12, wrinkle count and skeleton length, computed by hand on tiny masks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wds_edge.analysis.scoring import (
    IRIS_DIAMETER_MM,
    count_components,
    mm_per_px_from_iris,
    score_regions,
    skeleton_length_px,
)
from wds_edge.errors import InvalidInputError


def test_eq12_ratio_per_region_and_overall() -> None:
    mask = np.zeros((10, 10), bool)
    mask[0, 0:5] = True  # 5 pixels in the left half
    mask[9, 7:10] = True  # 3 pixels in the right half
    left = np.zeros((10, 10), bool)
    left[:, :5] = True
    scores = score_regions(mask, {"left": left, "right": ~left}, None, min_component_px=1)
    assert list(scores) == ["overall", "left", "right"]
    assert scores["overall"].area_px == 100 and scores["overall"].wrinkle_px == 8
    assert scores["overall"].wrinkle_ratio == pytest.approx(8 / 100)
    assert scores["left"].wrinkle_ratio == pytest.approx(5 / 50)
    assert scores["right"].wrinkle_ratio == pytest.approx(3 / 50)
    assert scores["left"].wrinkle_count == 1 and scores["right"].wrinkle_count == 1
    assert scores["left"].total_length_mm is None


def test_overall_mask_limits_the_denominator() -> None:
    mask = np.zeros((4, 4), bool)
    mask[0, 0] = True
    valid = np.zeros((4, 4), bool)
    valid[:2, :] = True  # 8 in-frame pixels
    scores = score_regions(mask, {}, None, overall_mask=valid, min_component_px=1)
    assert scores["overall"].wrinkle_ratio == pytest.approx(1 / 8)


def test_empty_region_and_empty_mask_score_zero() -> None:
    mask = np.zeros((6, 6), bool)
    scores = score_regions(mask, {"none": np.zeros((6, 6), bool)}, 0.1)
    assert scores["none"].area_px == 0 and scores["none"].wrinkle_ratio == 0.0
    assert scores["overall"].wrinkle_count == 0 and scores["overall"].total_length_mm == 0.0


def test_skeleton_length_straight_diagonal_and_corner() -> None:
    line = np.zeros((5, 9), bool)
    line[2, 1:7] = True  # 6 pixels -> 5 unit steps
    assert skeleton_length_px(line) == pytest.approx(5.0)
    diag = np.eye(5, dtype=bool)  # 5 pixels -> 4 diagonal steps
    assert skeleton_length_px(diag) == pytest.approx(4 * math.sqrt(2))
    anti = np.fliplr(np.eye(4, dtype=bool))
    assert skeleton_length_px(anti) == pytest.approx(3 * math.sqrt(2))
    corner = np.zeros((6, 6), bool)
    corner[1, 1:5] = True  # (1,1)..(1,4): 3 steps
    corner[1:5, 4] = True  # (1,4)..(4,4): 3 steps; the (1,3)-(2,4) diagonal is not counted
    assert skeleton_length_px(corner) == pytest.approx(6.0)
    single = np.zeros((3, 3), bool)
    single[1, 1] = True
    assert skeleton_length_px(single) == 0.0


def test_count_components_8_connectivity_and_min_size() -> None:
    mask = np.zeros((12, 12), bool)
    mask[0:3, 0:3] = True  # 9 px
    mask[3, 3] = True  # touches the first blob diagonally: same component (10 px)
    mask[6:9, 6:9] = True  # 9 px
    mask[11, 0:2] = True  # 2 px speck
    assert count_components(mask, min_component_px=8) == 2
    assert count_components(mask, min_component_px=1) == 3
    assert count_components(mask, min_component_px=10) == 1


def test_length_in_region_and_millimetres() -> None:
    mask = np.zeros((7, 10), bool)
    mask[3, 1:7] = True  # one-pixel line: skeletonize keeps it, length 5
    region = np.zeros((7, 10), bool)
    region[:, 0:4] = True  # holds columns 1..3 of the line: length 2
    mm_per_px = mm_per_px_from_iris(117.0)
    assert mm_per_px == pytest.approx(0.1)
    scores = score_regions(mask, {"r": region}, mm_per_px, min_component_px=1)
    assert scores["overall"].total_length_px == pytest.approx(5.0)
    assert scores["overall"].total_length_mm == pytest.approx(0.5)
    assert scores["r"].total_length_px == pytest.approx(2.0)
    assert scores["r"].wrinkle_px == 3 and scores["r"].wrinkle_count == 1


def test_iris_ruler_rejects_unusable_diameters() -> None:
    assert IRIS_DIAMETER_MM == 11.7
    assert mm_per_px_from_iris(None) is None
    assert mm_per_px_from_iris(0.0) is None
    assert mm_per_px_from_iris(float("nan")) is None


def test_shape_mismatch_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="same crop space"):
        score_regions(np.zeros((4, 4), bool), {"x": np.zeros((5, 5), bool)}, None)
    with pytest.raises(InvalidInputError, match="2-D"):
        score_regions(np.zeros((4, 4, 3), bool), {}, None)


def test_windowed_skeleton_equals_one_whole_image_pass() -> None:
    """Thinning per component (and the speckle fallback) equals skimage on the whole mask."""
    import cv2
    from skimage.morphology import skeletonize

    from wds_edge.analysis.scoring import skeletonize_mask

    rng = np.random.default_rng(3)
    lines = np.zeros((200, 200), np.uint8)
    for _ in range(25):
        x, y, dx, dy = (int(v) for v in rng.integers(-40, 200, 4))
        cv2.line(lines, (x, y), (x + dx // 2, y + dy // 3), 1, int(rng.integers(1, 5)))
    speckle = rng.random((200, 200)) < 0.05
    for mask in (lines.astype(bool), speckle, np.ones((40, 60), bool)):
        np.testing.assert_array_equal(skeletonize_mask(mask), skeletonize(mask))
