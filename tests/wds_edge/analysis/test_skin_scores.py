"""Skin-only scores on real photos with the bundled model (issue 21): no counted pixel lies
in an exclusion zone, the under-eye regions lose the lid margin, "overall" is the union of
the counted regions. The eyelid zone is rebuilt here by hand (eye contours dilated by 3 mm of
the face, iris ruler) rather than taken from the code under test."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.analysis.scoring import score_regions
from wds_edge.io import read_image
from wds_edge.perception.regions import LEFT_EYE_RING, REGION_NAMES, RIGHT_EYE_RING, region_masks

PHOTOS = ("biden2.jpg", "obama2.jpg", "ffhq_00117.png")


@pytest.fixture(scope="module")
def results(landmarker_path: Path, faces_dir: Path) -> dict:
    """The bundled model (it marks lines on real photos; the untrained test model may not)."""
    from wds_edge.analysis.analyzer import WrinkleAnalyzer

    with WrinkleAnalyzer(
        landmarker_path=str(landmarker_path), backend="onnxruntime", num_threads=1
    ) as analyzer:
        return {name: analyzer.analyze(read_image(faces_dir / name)) for name in PHOTOS}


def _eyelid_zone(result) -> np.ndarray:  # noqa: ANN001
    """Eye contours filled and dilated by 3 mm (11.7 mm iris ruler)."""
    landmarks = result.landmarks_crop_px
    size = result.crop_transform.size_px
    zone = np.zeros((size, size), np.uint8)
    for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
        cv2.fillPoly(zone, [np.round(landmarks[list(ring)]).astype(np.int32)], 1)
    radius = max(1, round(3.0 / result.mm_per_px))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(zone, disk).astype(bool)


def test_no_counted_pixel_lies_in_an_exclusion_zone(results) -> None:  # noqa: ANN001
    for name, r in results.items():
        assert r.ok and r.segmented, name
        counted = r.counted_regions
        assert not (counted.overall & counted.excluded).any(), name
        # The lid margin by hand (a pixel of slack for rounding at the zone's edge).
        lids = cv2.erode(_eyelid_zone(r).view(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert not (counted.overall & lids).any(), name
        assert not (r.wrinkle_mask & counted.overall & lids).any(), name
        for region in REGION_NAMES:
            mask = counted.masks[region]
            assert r.scores[region].wrinkle_px == np.count_nonzero(r.wrinkle_mask & mask)
            assert r.scores[region].area_px == np.count_nonzero(mask)


def test_under_eye_regions_lose_the_lid_margin(results) -> None:  # noqa: ANN001
    """The bare polygons reach into the 3 mm lid zone on these faces; the counted ones do
    not, and the scores say how much was removed."""
    for name, r in results.items():
        polygons = region_masks(r.landmarks_crop_px, r.crop_transform.size_px)
        lids = _eyelid_zone(r)
        for region in ("left_under_eye", "right_under_eye"):
            reached = np.count_nonzero(polygons[region] & lids)
            assert reached > 0, (name, region)
            assert r.scores[region].removed_px >= reached * 0.9, (name, region)
        assert r.scores["overall"].removed_px == sum(r.scores[n].removed_px for n in REGION_NAMES)


def test_overall_is_the_union_of_the_counted_regions(results) -> None:  # noqa: ANN001
    for r in results.values():
        union = np.zeros_like(r.wrinkle_mask)
        for region in REGION_NAMES:
            union |= r.counted_regions.masks[region]
        assert r.scores["overall"].area_px == np.count_nonzero(union)
        expected = np.count_nonzero(r.wrinkle_mask & union) / np.count_nonzero(union)
        assert r.scores["overall"].wrinkle_ratio == pytest.approx(expected)
        assert r.scores["overall"].area_px < 0.5 * r.crop_transform.size_px**2  # not the crop


def test_scores_worked_out_in_the_regions_box_equal_whole_crop_scores(results) -> None:  # noqa: ANN001
    """The skin scores run in the counted regions' bounding box (issue 25); the same
    scoring over the whole crop gives every number unchanged: ratio, count, length. (Without
    an ``overall_mask`` nothing is windowed: the mask is limited to the counted area by hand,
    and "overall"'s area is then the whole crop's, so it is set to the counted area's.)"""
    for name, r in results.items():
        counted = r.counted_regions
        whole = score_regions(r.wrinkle_mask & counted.overall, counted.masks, r.mm_per_px)
        whole["overall"].area_px = int(np.count_nonzero(counted.overall))
        assert set(whole) == set(r.scores), name
        for region, score in whole.items():
            got = r.scores[region]
            assert (got.area_px, got.wrinkle_px, got.wrinkle_count) == (
                score.area_px, score.wrinkle_px, score.wrinkle_count
            ), (name, region)  # fmt: skip
            assert got.total_length_px == pytest.approx(score.total_length_px), (name, region)
        assert r.scores["overall"].wrinkle_count > 0 and r.scores["overall"].total_length_px > 0
