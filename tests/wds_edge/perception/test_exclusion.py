"""The glasses search looks only at its eye band (issue 25 cut it to that window): straight
dark lines drawn on a real crop just inside the band's lower edge are found, the same lines
just outside it are not, wherever the band sits in the crop. It finds straight-edged frames
only: round / oval rims are not detected (a documented limit)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from wds_edge.perception.exclusion import glasses_mask, mm_per_crop_px
from wds_edge.perception.face_crop import crop_face
from wds_edge.perception.regions import FACE_OVAL, LEFT_EYE_RING, RIGHT_EYE_RING


@pytest.fixture(scope="module")
def crop_and_landmarks(analyzer, biden_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    located = analyzer.locate(biden_bgr)
    assert located.face_crop is not None
    return located.face_crop.crop_rgb, located.face_crop.landmarks_crop_px


def _with_line(crop: np.ndarray, y: int, x0: int, x1: int, thick: int) -> np.ndarray:
    out = crop.copy()
    cv2.line(out, (x0, y), (x1, y), (20, 18, 18), thick)
    return out


def test_glasses_search_stops_at_the_band_edge(crop_and_landmarks) -> None:  # noqa: ANN001
    crop, landmarks = crop_and_landmarks
    mm = mm_per_crop_px(landmarks)
    assert not glasses_mask(crop, landmarks, mm).any()  # no glasses on this photo
    # The band ends 22 mm below the lowest eye point (the cheeks: no feature is cut out).
    bottom = float(landmarks[list(RIGHT_EYE_RING + LEFT_EYE_RING), 1].max()) + 22.0 / mm
    oval_x = landmarks[list(FACE_OVAL), 0]
    x0 = int(oval_x.min() + 0.2 * np.ptp(oval_x))
    x1 = int(oval_x.max() - 0.2 * np.ptp(oval_x))  # across the nose: both sides
    thick = max(2, round(1.0 / mm))
    margin = thick + 3
    inside_y, outside_y = int(bottom) - margin, int(bottom) + margin
    assert outside_y + margin < crop.shape[0]
    inside = glasses_mask(_with_line(crop, inside_y, x0, x1, thick), landmarks, mm)
    outside = glasses_mask(_with_line(crop, outside_y, x0, x1, thick), landmarks, mm)
    on_line = np.zeros(crop.shape[:2], bool)
    on_line[inside_y, x0 : x1 + 1] = True
    assert inside[on_line].mean() > 0.9
    assert not outside.any()


def test_glasses_search_finds_straight_rims_only(analyzer, biden_bgr: np.ndarray) -> None:  # noqa: ANN001
    """The documented limit (glasses_mask, README): on the 640 px crop, rectangular rims drawn
    round both eyes are found; oval rims of the same size and darkness are not at all (no
    straight segment of GLASSES_MIN_LENGTH_MM), so their pixels are not left out of the
    scores."""
    located = analyzer.locate(biden_bgr)
    face_crop = crop_face(biden_bgr, located.landmarks_px, 640)
    crop, landmarks = face_crop.crop_rgb, face_crop.landmarks_crop_px
    mm = mm_per_crop_px(landmarks)
    thick = max(2, round(1.5 / mm))
    for half_w_mm, half_h_mm in ((25, 17), (20, 20), (25, 12)):
        half_w, half_h = int(half_w_mm / mm), int(half_h_mm / mm)
        rect, oval = crop.copy(), crop.copy()
        rims = np.zeros(crop.shape[:2], np.uint8)
        for iris in (468, 473):
            cx, cy = (int(v) for v in landmarks[iris])
            corners = ((cx - half_w, cy - half_h), (cx + half_w, cy + half_h))
            cv2.rectangle(rect, *corners, (15, 15, 15), thick)
            cv2.ellipse(oval, (cx, cy), (half_w, half_h), 0, 0, 360, (15, 15, 15), thick)
            cv2.ellipse(rims, (cx, cy), (half_w, half_h), 0, 0, 360, 1, thick)
        assert glasses_mask(rect, landmarks, mm).sum() > 10000
        assert not glasses_mask(oval, landmarks, mm)[rims > 0].any()
