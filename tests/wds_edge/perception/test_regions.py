"""Facial regions on real photos: non-empty, non-overlapping, anatomically ordered."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.perception.crop import make_crop_transform
from wds_edge.perception.regions import (
    FACE_OVAL,
    LEFT_EYE_RING,
    LEFT_EYEBROW_RING,
    LIPS_OUTER_RING,
    REGION_NAMES,
    RIGHT_EYE_RING,
    RIGHT_EYEBROW_RING,
    region_masks,
    region_polygons,
    skin_mask,
)

SIZE_PX = 320
PHOTOS = ("biden2.jpg", "obama.jpg", "obama3.jpg", "ffhq_00117.png")


@pytest.fixture(scope="module")
def crops(faces_dir: Path, landmarker_path: Path) -> dict[str, np.ndarray]:
    """Landmarks in crop space for a few real photos (and biden2 mirrored)."""
    from wds_edge.io import read_image
    from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions

    out = {}
    with FaceLandmarker(FaceLandmarkerOptions(model_path=landmarker_path)) as landmarker:
        for name in PHOTOS:
            rgb = cv2.cvtColor(read_image(faces_dir / name), cv2.COLOR_BGR2RGB)
            for key, image in ((name, rgb), (f"mirrored {name}", rgb[:, ::-1].copy())):
                if key.startswith("mirrored") and name != "biden2.jpg":
                    continue
                face = landmarker.detect(image)[0]
                ct = make_crop_transform(face.landmarks_px, SIZE_PX, align_roll=True)
                out[key] = ct.points_to_crop(face.landmarks_px)
    return out


def _edges(ring: tuple[int, ...]) -> set[frozenset[int]]:
    return {frozenset((ring[i], ring[(i + 1) % len(ring)])) for i in range(len(ring))}


def test_rings_match_mediapipe_connections() -> None:
    """Independent reference: MediaPipe's own contour definitions."""
    pytest.importorskip("mediapipe")
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as C

    def mp_edges(connections: list) -> set[frozenset[int]]:
        return {frozenset((c.start, c.end)) for c in connections}

    assert _edges(FACE_OVAL) == mp_edges(C.FACE_LANDMARKS_FACE_OVAL)
    assert _edges(RIGHT_EYE_RING) == mp_edges(C.FACE_LANDMARKS_RIGHT_EYE)
    assert _edges(LEFT_EYE_RING) == mp_edges(C.FACE_LANDMARKS_LEFT_EYE)
    # MediaPipe lists each brow as two open polylines; the ring closes them.
    assert mp_edges(C.FACE_LANDMARKS_RIGHT_EYEBROW) < _edges(RIGHT_EYEBROW_RING)
    assert mp_edges(C.FACE_LANDMARKS_LEFT_EYEBROW) < _edges(LEFT_EYEBROW_RING)
    assert _edges(LIPS_OUTER_RING) < mp_edges(C.FACE_LANDMARKS_LIPS)


def _centroid(mask: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


@pytest.mark.parametrize("name", PHOTOS)
def test_regions_are_anatomically_ordered(crops: dict[str, np.ndarray], name: str) -> None:
    pts = crops[name]
    masks = region_masks(pts, SIZE_PX)
    assert tuple(masks) == REGION_NAMES
    for region, mask in masks.items():
        assert mask.dtype == np.bool_ and mask.shape == (SIZE_PX, SIZE_PX)
        assert mask.sum() > 0.002 * SIZE_PX**2, f"{region} is (nearly) empty in {name}"
    assert np.sum([m.astype(np.uint8) for m in masks.values()], axis=0).max() == 1  # no overlap

    eye_y = (pts[468, 1] + pts[473, 1]) / 2  # iris centres
    right_outer_x, left_outer_x = pts[33, 0], pts[263, 0]
    c = {region: _centroid(mask) for region, mask in masks.items()}
    assert c["forehead"][1] < eye_y and c["glabella"][1] < eye_y
    assert c["forehead"][1] < c["glabella"][1]
    assert pts[133, 0] < c["glabella"][0] < pts[362, 0]  # between the inner eye corners
    assert c["left_under_eye"][1] > eye_y and c["right_under_eye"][1] > eye_y
    # Crow's feet lie outside the outer eye corners; the subject's left is the image's right.
    assert c["left_crows_feet"][0] > left_outer_x and c["right_crows_feet"][0] < right_outer_x
    assert c["left_crows_feet"][0] > SIZE_PX / 2 > c["right_crows_feet"][0]
    assert c["left_under_eye"][0] > SIZE_PX / 2 > c["right_under_eye"][0]
    # Eyes belong to no region.
    for iris in (468, 473):
        x, y = np.round(pts[iris]).astype(int)
        assert not any(mask[y, x] for mask in masks.values())


def test_left_right_swap_in_a_mirrored_photo(crops: dict[str, np.ndarray]) -> None:
    plain = region_masks(crops["biden2.jpg"], SIZE_PX)
    mirrored = region_masks(crops["mirrored biden2.jpg"], SIZE_PX)
    # MediaPipe labels the mirrored face anatomically too: the region on the image's
    # right is still "left"; its area matches the other side of the original.
    for a, b in (("left_crows_feet", "right_crows_feet"), ("left_under_eye", "right_under_eye")):
        assert mirrored[a].sum() == pytest.approx(plain[b].sum(), rel=0.35)
        assert _centroid(mirrored[a])[0] > SIZE_PX / 2


def test_skin_mask_excludes_eyes_brows_lips(crops: dict[str, np.ndarray]) -> None:
    pts = crops["biden2.jpg"]
    skin = skin_mask(pts, SIZE_PX)
    assert skin.dtype == np.bool_ and 0.2 * SIZE_PX**2 < skin.sum() < 0.9 * SIZE_PX**2

    def at(index: int) -> bool:
        x, y = np.clip(np.round(pts[index]).astype(int), 0, SIZE_PX - 1)
        return bool(skin[y, x])

    assert not at(468) and not at(473)  # irises
    assert not at(105) and not at(334)  # eyebrows
    assert at(151) and at(205) and at(425)  # forehead, both cheeks
    regions = region_masks(pts, SIZE_PX)
    # The forehead and glabella are skin.
    for name in ("forehead", "glabella"):
        assert (regions[name] & skin).sum() > 0.95 * regions[name].sum()


def test_polygons_and_bad_input(crops: dict[str, np.ndarray]) -> None:
    polygons = region_polygons(crops["obama.jpg"])
    assert tuple(polygons) == REGION_NAMES
    assert all(p.dtype == np.float32 and p.ndim == 2 and p.shape[1] == 2 for p in polygons.values())
    with pytest.raises(InvalidInputError):
        region_masks(np.zeros((5, 2)), SIZE_PX)
    with pytest.raises(InvalidInputError):
        skin_mask(crops["obama.jpg"], 0)


@pytest.mark.parametrize("seed", range(6))
def test_dilate_near_is_a_full_image_dilation(seed: int) -> None:
    """Dilating only around the mask gives OpenCV's whole-image dilation pixel for pixel,
    also for blobs at the border and kernels wider than the blob."""
    from wds_edge.perception.regions import dilate_near

    rng = np.random.default_rng(seed)
    mask = np.zeros((120, 90), np.uint8)
    for _ in range(seed):  # seed 0: an empty mask
        y, x = rng.integers(0, 120), rng.integers(0, 90)
        mask[max(0, y - 3) : y + 4, max(0, x - 2) : x + 3] = 1
    radius = int(rng.integers(1, 15))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    assert np.array_equal(dilate_near(mask, kernel), cv2.dilate(mask, kernel))
