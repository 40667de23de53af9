"""Overlay drawing on a real analysis: mask pasted back on the face, outlines, text."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from wds_edge.analysis.overlay import (
    REGION_COLORS_BGR,
    UNCOUNTED_COLOR_BGR,
    WRINKLE_COLOR_BGR,
    draw_crop_overlay,
    draw_overlay,
)
from wds_edge.analysis.result import FrameResult
from wds_edge.errors import InvalidInputError
from wds_edge.perception.quality import FrameStatus


@pytest.fixture(scope="module")
def banded(biden_result: FrameResult) -> FrameResult:
    """The biden2 result with a known mask: a band down the middle of the crop, through
    the counted forehead and glabella and the uncounted brows, eyes and nose."""
    size = biden_result.crop_transform.size_px
    mask = np.zeros((size, size), bool)
    mask[:, size // 2 - 3 : size // 2 + 3] = True
    return dataclasses.replace(biden_result, wrinkle_mask=mask)


def _counted_and_not(result: FrameResult) -> tuple[tuple[int, int], tuple[int, int]]:
    """A pixel (x, y) on the band's centre column deep inside the counted regions, and one
    deep inside what they do not count (so resampling to the frame cannot blur them)."""
    import cv2

    column = result.crop_transform.size_px // 2
    overall = result.counted_regions.overall.astype(np.uint8)
    inside = cv2.distanceTransform(overall, cv2.DIST_L2, 5)[:, column]
    outside = cv2.distanceTransform(1 - overall, cv2.DIST_L2, 5)[:, column]
    outside[: int(np.nonzero(overall[:, column])[0].max())] = 0  # below the regions: the nose
    outside[-len(outside) // 8 :] = 0  # clear of the crop box's outline
    return (column, int(np.argmax(inside))), (column, int(np.argmax(outside)))


def _tint(base: np.ndarray, colour: tuple[int, int, int], alpha: float) -> np.ndarray:
    return np.clip((1 - alpha) * base.astype(np.float32) + alpha * np.array(colour), 0, 255)


def test_mask_is_tinted_where_it_maps_onto_the_frame(
    biden_bgr: np.ndarray, banded: FrameResult
) -> None:
    before = biden_bgr.copy()
    out = draw_overlay(biden_bgr, banded, show_regions=False, show_scores=False, alpha=1.0)
    np.testing.assert_array_equal(biden_bgr, before)  # input untouched
    assert out.shape == biden_bgr.shape and out.dtype == np.uint8
    t = banded.crop_transform
    size = t.size_px
    counted, uncounted = _counted_and_not(banded)
    x, y = np.round(t.points_to_frame(np.array([counted], float))[0]).astype(int)
    assert tuple(out[y, x]) == WRINKLE_COLOR_BGR  # counted: the wrinkle colour
    ux, uy = np.round(t.points_to_frame(np.array([uncounted], float))[0]).astype(int)
    faint = _tint(biden_bgr[uy, ux], UNCOUNTED_COLOR_BGR, 0.5)  # marked, not counted
    np.testing.assert_allclose(out[uy, ux], faint, atol=1.0)
    far = t.points_to_frame(np.array([[size / 4, 3 * size / 4]]))[0]
    fx, fy = int(round(far[0])), int(round(far[1]))
    np.testing.assert_array_equal(out[fy, fx], biden_bgr[fy, fx])  # no mask there


def test_every_counted_mark_is_tinted(biden_bgr: np.ndarray, banded: FrameResult) -> None:
    """All of the mask, not just a pixel: the tint works in the mask's box (issue 25)."""
    out = draw_overlay(biden_bgr, banded, show_regions=False, show_scores=False, alpha=1.0)
    t = banded.crop_transform
    counted = t.paste_back(banded.wrinkle_mask & banded.counted_regions.overall, out.shape)
    assert counted.dtype == bool and counted.sum() > 1000
    assert (out[counted] == np.array(WRINKLE_COLOR_BGR, np.uint8)).all()
    untouched = ~t.paste_back(banded.wrinkle_mask, out.shape)
    untouched[: out.shape[0] // 10] = False  # the status line
    changed = (out != biden_bgr).any(axis=2) & untouched
    assert changed.sum() < 0.01 * untouched.sum()  # only the crop box's outline


@pytest.mark.parametrize("show_scores", [False, True])
def test_region_outlines_are_drawn_where_the_regions_lie(
    biden_bgr: np.ndarray, banded: FrameResult, show_scores: bool
) -> None:
    """show_regions alone, at the same show_scores: every counted region's outline (its
    contour's vertices mapped into the frame) is drawn in the region's colour. The test
    before compared regions + text with neither, and passed with no outline drawn at all."""
    import cv2

    plain = draw_overlay(biden_bgr, banded, show_regions=False, show_scores=show_scores)
    outlined = draw_overlay(biden_bgr, banded, show_regions=True, show_scores=show_scores)
    t = banded.crop_transform
    assert set(banded.counted_regions.masks) == set(REGION_COLORS_BGR)
    for name, mask in banded.counted_regions.masks.items():
        contours, _ = cv2.findContours(
            mask.view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        vertices = np.concatenate([c.reshape(-1, 2) for c in contours]).astype(np.float64)
        x, y = np.round(t.points_to_frame(vertices)).astype(int).T
        assert len(x) > 10, name
        changed = np.any(outlined[y, x] != plain[y, x], axis=1)
        coloured = np.all(outlined[y, x] == np.array(REGION_COLORS_BGR[name], np.uint8), axis=1)
        # (a vertex on a border shared with a region drawn later takes that one's colour)
        assert changed.mean() > 0.9 and coloured.mean() > 0.6, (name, changed.mean())


def test_scores_text_changes_the_image(biden_bgr: np.ndarray, banded: FrameResult) -> None:
    for regions in (False, True):
        plain = draw_overlay(biden_bgr, banded, show_regions=regions, show_scores=False)
        full = draw_overlay(biden_bgr, banded, show_regions=regions, show_scores=True)
        changed = np.any(full != plain, axis=2)
        assert np.count_nonzero(changed) > 1000
        assert not changed[biden_bgr.shape[0] // 2 :].any()  # the text: at the top left


def test_a_result_rebuilt_from_json_draws_what_the_live_one_draws(
    biden_bgr: np.ndarray, banded: FrameResult
) -> None:
    """FrameResult.from_dict had left out the JSON's crop_transform: the rebuilt result drew
    no mask, box or regions and its frame_mask() was None. The JSON holds no counted regions
    (they need the crop's pixels), so the live result is drawn without them too: region
    polygons and every marked pixel in the wrinkle colour, from the landmarks as the JSON
    holds them (rounded to 0.01 px: a polygon vertex rounded to the other pixel changes ~120
    outline pixels)."""
    data = json.loads(json.dumps(banded.to_dict(include_arrays=True)))
    rebuilt = FrameResult.from_dict(data)
    assert rebuilt.crop_transform is not None
    assert rebuilt.crop_transform.size_px == banded.crop_transform.size_px
    live_mask = banded.frame_mask()
    assert live_mask is not None and np.count_nonzero(live_mask) > 1000
    np.testing.assert_array_equal(rebuilt.frame_mask(), live_mask)
    live = dataclasses.replace(
        banded, counted_regions=None, face_crop=None, landmarks_px=rebuilt.landmarks_px
    )
    for regions in (False, True):
        drawn = draw_overlay(biden_bgr, rebuilt, show_regions=regions)
        np.testing.assert_array_equal(drawn, draw_overlay(biden_bgr, live, show_regions=regions))
        assert np.count_nonzero(np.any(drawn != biden_bgr, axis=2)[live_mask > 0]) > 100


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
    # the status's value, as everywhere: a str Enum in an f-string reads
    # 'FrameStatus.NO_FACE' on Python 3.11, 'no_face' on 3.10
    with pytest.raises(InvalidInputError, match=r"no face crop \(status 'no_face'\); nothing"):
        draw_crop_overlay(frame, r)


def test_crop_overlay(biden_bgr: np.ndarray, banded: FrameResult) -> None:
    crop = banded.crop_transform.crop(biden_bgr)
    out = draw_crop_overlay(crop, banded, alpha=1.0)
    size = banded.crop_transform.size_px
    assert out.shape == (size, size, 3)
    (x, y), (ux, uy) = _counted_and_not(banded)
    assert tuple(out[y, x]) == WRINKLE_COLOR_BGR
    np.testing.assert_allclose(out[uy, ux], _tint(crop[uy, ux], UNCOUNTED_COLOR_BGR, 0.5), atol=1)
    with pytest.raises(InvalidInputError, match=f"{size}x{size}"):
        draw_crop_overlay(biden_bgr, banded)
