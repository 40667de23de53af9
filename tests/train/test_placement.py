"""Placement measure of the selection rule, on the real landmarks of a real photo."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.io import read_image
from wds_edge.perception.crop import make_crop_transform
from wds_edge.perception.regions import region_masks
from wds_edge_train.labeling.exclusion import exclusion_zones, union
from wds_edge_train.placement import OFF_ZONES, FaceMeasure, measure_mask, pooled_placement


@pytest.fixture(scope="module")
def biden_crop(faces_dir: Path, landmarker_path: Path) -> tuple[np.ndarray, np.ndarray]:
    from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions

    rgb = cv2.cvtColor(read_image(faces_dir / "biden2.jpg"), cv2.COLOR_BGR2RGB)
    with FaceLandmarker(FaceLandmarkerOptions(model_path=landmarker_path, mode="image")) as lmk:
        face = lmk.detect(rgb)[0]
    t = make_crop_transform(face.landmarks_px, 640, align_roll=True)
    return t.crop(rgb), t.points_to_crop(face.landmarks_px)


def test_a_mask_on_the_forehead_is_inside_and_one_on_the_lids_is_off(biden_crop) -> None:  # noqa: ANN001
    crop, lm = biden_crop
    regions = region_masks(lm, 640)
    zones = exclusion_zones(crop, lm)
    forehead = regions["forehead"] & ~union(zones, OFF_ZONES)
    m = measure_mask(forehead, crop, lm)
    assert m["predicted_px"] == forehead.sum() == m["inside_px"] and m["off_px"] == 0
    # polygon score = wrinkle pixels in the bare region polygons / their pixels
    assert m["polygon_score"] == pytest.approx(forehead.sum() / union(regions).sum())
    lids = zones["eyelids"] & ~union(regions)
    m = measure_mask(lids, crop, lm)
    assert m["inside_px"] == 0 and m["off_px"] == m["predicted_px"] == lids.sum()
    assert m["off_by_zone_px"]["eyelids"] == lids.sum()
    with pytest.raises(InvalidInputError):
        measure_mask(lids[:10], crop, lm)


def test_pooled_placement_sums_pixels_over_faces() -> None:
    ms = [
        FaceMeasure("a", "colour", "ok", predicted_px=100, inside_px=90, off_px=5),
        FaceMeasure("b", "colour", "ok", predicted_px=300, inside_px=210, off_px=45),
        FaceMeasure("b", "grey", "ok", predicted_px=1000, inside_px=0, off_px=1000),
    ]
    p = pooled_placement(ms, "colour")
    assert p["inside"] == pytest.approx(300 / 400) and p["off"] == pytest.approx(50 / 400)
