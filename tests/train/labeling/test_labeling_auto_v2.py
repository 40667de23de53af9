"""Second-generation weak labels on real photos: exclusion zones, orientation priors, hair,
glasses, previews and the runner hook (real MediaPipe with the real model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.io import read_image
from wds_edge.perception.regions import region_masks, skin_mask
from wds_edge_train.labeling.auto_v2 import AutoLabelerV2, rough_mask_v2
from wds_edge_train.labeling.exclusion import exclusion_zones, glasses_mask, mm_per_crop_px, union
from wds_edge_train.labeling.orientation import (
    direction_weight,
    expected_direction,
    ridge_direction,
)
from wds_edge_train.labeling.runner import LabelOptions, label_folder
from wds_edge_train.labeling.zone_preview import LABEL_COLOUR_BGR


@pytest.fixture(scope="module")
def labeler(landmarker_path: Path):  # noqa: ANN201 - AutoLabelerV2
    with AutoLabelerV2(landmarker_path=landmarker_path) as lab:
        yield lab


def _labelled(labeler: AutoLabelerV2, path: Path, size: int = 640):  # noqa: ANN202
    rgb = cv2.cvtColor(read_image(path), cv2.COLOR_BGR2RGB)
    labeler.crop_size_px = size
    try:
        result = labeler.label(rgb)
    finally:
        labeler.crop_size_px = 640
    lm = np.asarray(result.landmarks["landmarks_crop_px"])
    return result, lm, labeler.parts(result.image_rgb, lm)


@pytest.fixture(scope="module")
def biden2(labeler: AutoLabelerV2, faces_dir: Path):  # noqa: ANN201
    return _labelled(labeler, faces_dir / "biden2.jpg")


def test_no_label_pixel_on_lids_brows_hairline_or_outline(
    biden2, landmarker_path, faces_dir
) -> None:  # noqa: ANN001
    result, lm, parts = biden2
    assert result.label.any() and np.array_equal(result.label, parts.label)
    for zone in ("eyelids", "brows", "hairline", "outline", "nostrils", "lips", "hair"):
        assert not (result.label & parts.zones[zone]).any(), zone
    # The zones matter: they take pixels the regions would otherwise offer to the labeler.
    regions = union(parts.regions)
    for zone in ("eyelids", "brows", "hairline", "outline"):
        assert (regions & parts.zones[zone]).sum() > 200, zone


def test_zones_are_sized_relative_to_the_face(biden2, labeler, faces_dir) -> None:  # noqa: ANN001
    _, lm, parts = biden2
    mm = mm_per_crop_px(lm)
    assert 0.15 < mm < 0.35  # an adult face in a 640 px Table 1 crop
    _, lm_half, parts_half = _labelled(labeler, faces_dir / "biden2.jpg", size=320)
    assert mm_per_crop_px(lm_half) == pytest.approx(2 * mm, rel=0.03)
    for zone in ("eyelids", "brows", "hairline", "outline"):
        full = parts.zones[zone].mean()
        half = parts_half.zones[zone].mean()
        assert half == pytest.approx(full, rel=0.15), zone  # same share of the crop
    # The eyelid zone reaches about 3 mm (EYELID_MARGIN_MM) beyond the eye corners.
    eyes = parts.zones["eyelids"]
    x_outer = lm[33, 0]
    row = int(round(lm[33, 1]))
    assert eyes[row, int(x_outer - 2.5 / mm)] and not eyes[row, int(x_outer - 4.0 / mm)]


def test_direction_weight_golden() -> None:
    d = np.deg2rad
    w = direction_weight(d(np.array([0.0, 20.0, 30.0, 45.0, 60.0, 90.0, 170.0])), 0.0, 30.0)
    # full within 30 deg, linear to 0 at 60 deg; 170 deg is 10 deg from 0 (lines have no sign)
    np.testing.assert_allclose(w, [1, 1, 1, 0.5, 0, 0, 1], atol=1e-6)
    with pytest.raises(InvalidInputError):
        direction_weight(0.0, 0.0, 0.0)


@pytest.mark.parametrize("angle_deg", [0.0, 45.0, 90.0, 135.0])
def test_ridge_direction_follows_a_drawn_dark_line(angle_deg: float) -> None:
    img = np.full((101, 101), 200, np.uint8)
    t = np.deg2rad(angle_deg)
    a = (int(50 - 60 * np.cos(t)), int(50 - 60 * np.sin(t)))
    b = (int(50 + 60 * np.cos(t)), int(50 + 60 * np.sin(t)))
    cv2.line(img, a, b, 60, 3, cv2.LINE_AA)
    got = ridge_direction(np.repeat(img[..., None], 3, 2), 2.0)[50, 50]
    diff = abs((got - t + np.pi / 2) % np.pi - np.pi / 2)
    assert np.rad2deg(diff) < 5.0


def test_expected_directions_per_region(biden2) -> None:  # noqa: ANN001
    _, lm, parts = biden2
    exp = expected_direction(lm, parts.regions)
    eye_line = np.arctan2(*(lm[263] - lm[33])[::-1]) % np.pi
    ys, xs = np.nonzero(parts.regions["forehead"])
    assert np.allclose(exp["forehead"][ys, xs], eye_line)
    ys, xs = np.nonzero(parts.regions["glabella"])
    assert np.allclose(exp["glabella"][ys, xs], (eye_line + np.pi / 2) % np.pi)
    # crow's feet: the direction points from the outer eye corner to the pixel
    ys, xs = np.nonzero(parts.regions["left_crows_feet"])
    radial = np.arctan2(ys - lm[263, 1], xs - lm[263, 0]) % np.pi
    np.testing.assert_allclose(exp["left_crows_feet"][ys, xs], radial, atol=1e-5)


def _share_aligned(label: np.ndarray, crop_rgb: np.ndarray, exp: np.ndarray, sigma: float) -> float:
    got = ridge_direction(crop_rgb, sigma)[label]
    diff = np.abs((got - exp[label] + np.pi / 2) % np.pi - np.pi / 2)
    return float((diff < np.deg2rad(45)).mean())


def test_orientation_priors_shape_the_labels_on_a_real_face(biden2) -> None:  # noqa: ANN001
    result, lm, parts = biden2
    crop = result.image_rgb
    exp = expected_direction(lm, parts.regions)
    sigma = 0.4 / parts.mm_per_px
    free = rough_mask_v2(crop, lm, parts.regions, skin_mask(lm, 640), orient=False)
    for name in ("forehead", "glabella", "left_crows_feet", "right_crows_feet"):
        region = parts.regions[name]
        with_prior = _share_aligned(parts.rough & region, crop, exp[name], sigma)
        without = _share_aligned(free.rough & region, crop, exp[name], sigma)
        assert with_prior > 0.75, name
        assert with_prior > without, name


def test_glasses_frames_are_found_and_excluded(biden2) -> None:  # noqa: ANN001
    result, lm, parts = biden2
    crop = result.image_rgb.copy()
    assert not parts.zones["glasses"].any()  # no glasses on this photo
    mm = parts.mm_per_px
    thick = max(2, int(round(1.5 / mm)))
    drawn = np.zeros(crop.shape[:2], np.uint8)
    for outer, inner in ((33, 133), (263, 362)):
        cx = (lm[outer, 0] + lm[inner, 0]) / 2
        cy = lm[outer, 1]
        half_w, half_h = 26 / mm, 11 / mm  # a 52 x 22 mm lens rim
        p1 = (int(cx - half_w), int(cy - half_h))
        p2 = (int(cx + half_w), int(cy + half_h))
        cv2.rectangle(drawn, p1, p2, 1, thick)
    bridge_y = int(lm[168, 1])
    cv2.line(drawn, (int(lm[133, 0]), bridge_y), (int(lm[362, 0]), bridge_y), 1, thick)
    crop[drawn > 0] = (25, 20, 20)
    found = glasses_mask(crop, lm, mm)
    zones = exclusion_zones(crop, lm, mm)
    features = union(zones, ("eyelids", "brows"))
    band = drawn.astype(bool) & ~features & union(region_masks(lm, 640))
    assert band.sum() > 500 and found[band].mean() > 0.6


def test_hair_over_the_forehead_is_excluded(labeler, faces_dir, biden2) -> None:  # noqa: ANN001
    _, _, fringe = _labelled(labeler, faces_dir / "ffhq_00016.png")
    forehead = fringe.regions["forehead"]
    assert fringe.zones["hair"][forehead].mean() > 0.3  # a thick fringe
    _, _, bald = biden2
    assert bald.zones["hair"][bald.regions["forehead"]].mean() < 0.1


def test_preview_shows_label_zones_and_regions(biden2) -> None:  # noqa: ANN001
    result, _, parts = biden2
    preview = result.preview_bgr
    assert preview.shape == (28 + 640, 3 * 640, 3) and preview.dtype == np.uint8
    body = preview[28:]
    left, right = body[:, 640:1280], body[:, 1280:]
    green = np.all(left == LABEL_COLOUR_BGR, axis=2)
    assert (green == result.label).mean() > 0.999
    assert np.all(right == LABEL_COLOUR_BGR, axis=2)[result.label].all()
    only_lids = parts.zones["eyelids"] & ~union(parts.zones, ("hair", "glasses", "brows"))
    tinted = right.astype(int)[only_lids & ~result.label]
    assert (tinted[:, 2] > tinted[:, 1] + 20).mean() > 0.95  # eyelids tinted red


def test_a_face_without_deep_ridges_gets_no_label(biden2, labeler) -> None:  # noqa: ANN001
    result, lm, _ = biden2
    smooth = cv2.GaussianBlur(result.image_rgb, (0, 0), 12)
    with pytest.raises(InvalidInputError, match="no ridge deep enough"):
        labeler.parts(smooth, lm)


def test_runner_auto_version_hook(faces_dir: Path, landmarker_path: Path, tmp_path: Path) -> None:
    images = tmp_path / "in"
    images.mkdir()
    shutil.copy(faces_dir / "biden2.jpg", images / "biden2.jpg")
    for version in (1, 2):
        out = tmp_path / f"v{version}"
        opts = LabelOptions(landmarker_path=landmarker_path, auto_version=version)
        summary = label_folder(images, out, auto=True, options=opts)
        assert summary.n_ok == 1
        doc = json.loads((out / "labels.json").read_text())
        assert doc["options"]["auto_version"] == version
        width = cv2.imread(str(out / "previews" / "biden2.jpg")).shape[1]
        assert width == (3 if version == 2 else 2) * 640
        assert (out / "zones" / "biden2.png").is_file() == (version == 2)
    # v2's zones (hard negatives for training) are the exclusion zones it kept the label out of
    from wds_edge.perception.exclusion import EXCLUSION_ZONES
    from wds_edge_train.data import discover_samples, load_sample

    _, (sample,) = discover_samples(tmp_path / "v2")
    loaded = load_sample(sample)
    lm = np.asarray(json.loads((tmp_path / "v2" / "landmarks" / "biden2.json").read_text())[
        "landmarks_crop_px"
    ])  # fmt: skip
    expected = union(exclusion_zones(loaded.image_rgb, lm), EXCLUSION_ZONES)
    assert (
        loaded.zones is not None and loaded.zones.any() and not (loaded.zones & loaded.mask).any()
    )
    assert (loaded.zones != expected).mean() < 0.002  # landmarks rounded to 0.01 px in the JSON
    with pytest.raises(InvalidInputError, match="1 or 2"):
        label_folder(
            images, tmp_path / "v3", auto=True,
            options=LabelOptions(landmarker_path=landmarker_path, auto_version=3),
        )  # fmt: skip
