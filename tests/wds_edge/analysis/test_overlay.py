"""Overlay drawing on a real analysis: mask pasted back on the face, outlines, text."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from wds_edge.analysis.overlay import WRINKLE_COLOR_BGR, draw_crop_overlay, draw_overlay
from wds_edge.analysis.result import FrameResult
from wds_edge.errors import InvalidInputError
from wds_edge.perception.quality import FrameStatus


@pytest.fixture(scope="module")
def banded(biden_result: FrameResult) -> FrameResult:
    """The biden2 result with a known mask: a horizontal band across the forehead."""
    size = biden_result.crop_transform.size_px
    mask = np.zeros((size, size), bool)
    mask[size // 4 : size // 4 + 6, size // 4 : 3 * size // 4] = True
    return dataclasses.replace(biden_result, wrinkle_mask=mask)


def test_mask_is_tinted_where_it_maps_onto_the_frame(
    biden_bgr: np.ndarray, banded: FrameResult
) -> None:
    before = biden_bgr.copy()
    out = draw_overlay(biden_bgr, banded, show_regions=False, show_scores=False, alpha=1.0)
    np.testing.assert_array_equal(biden_bgr, before)  # input untouched
    assert out.shape == biden_bgr.shape and out.dtype == np.uint8
    t = banded.crop_transform
    size = t.size_px
    centre = t.points_to_frame(np.array([[size / 2, size // 4 + 3]]))[0]
    x, y = int(round(centre[0])), int(round(centre[1]))
    assert tuple(out[y, x]) == WRINKLE_COLOR_BGR
    far = t.points_to_frame(np.array([[size / 2, 3 * size / 4]]))[0]
    fx, fy = int(round(far[0])), int(round(far[1]))
    np.testing.assert_array_equal(out[fy, fx], biden_bgr[fy, fx])  # no mask there


def test_regions_and_text_change_the_image(biden_bgr: np.ndarray, banded: FrameResult) -> None:
    plain = draw_overlay(biden_bgr, banded, show_regions=False, show_scores=False)
    full = draw_overlay(biden_bgr, banded)
    assert np.count_nonzero(np.any(full != plain, axis=2)) > 1000


def test_no_face_result_draws_status_only() -> None:
    frame = np.full((240, 320, 3), 128, np.uint8)
    r = FrameResult(FrameStatus.NO_FACE, FrameStatus.NO_FACE.prompt, (240, 320))
    out = draw_overlay(frame, r)
    changed = np.any(out != frame, axis=2)
    assert changed[:60].any() and not changed[120:].any()  # text at the top only
    with pytest.raises(InvalidInputError, match="analysed frame"):
        draw_overlay(np.zeros((10, 10, 3), np.uint8), r)
    with pytest.raises(InvalidInputError, match="uint8 BGR"):
        draw_overlay(frame.astype(np.float32), r)
    with pytest.raises(InvalidInputError, match="no face crop"):
        draw_crop_overlay(frame, r)


def test_crop_overlay(biden_bgr: np.ndarray, banded: FrameResult) -> None:
    crop = banded.crop_transform.crop(biden_bgr)
    out = draw_crop_overlay(crop, banded, alpha=1.0)
    size = banded.crop_transform.size_px
    assert out.shape == (size, size, 3)
    assert tuple(out[size // 4 + 3, size // 2]) == WRINKLE_COLOR_BGR
    with pytest.raises(InvalidInputError, match=f"{size}x{size}"):
        draw_crop_overlay(biden_bgr, banded)
