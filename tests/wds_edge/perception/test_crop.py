"""Paper Table 1 crop: golden values by hand, transform round trips, padding, roll alignment."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.perception.crop import (
    CropTransform,
    crop_box,
    eye_line_angle_deg,
    kiosk_crop,
    make_crop_transform,
)


def synthetic_landmarks() -> np.ndarray:
    """478 points inside x 120..280, y 150..350, with hand-placed extremes and P3 (168)."""
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(120, 280, 478), rng.uniform(150, 350, 478)])
    pts[234] = (100.0, 260.0)  # leftmost: P1
    pts[454] = (300.0, 255.0)  # rightmost: P2
    pts[168] = (200.0, 200.0)  # between the eyes: P3
    pts[33], pts[133] = (140.0, 210.0), (180.0, 210.0)  # subject's right eye corners
    pts[362], pts[263] = (220.0, 210.0), (260.0, 210.0)  # subject's left eye corners
    return pts


def test_crop_box_golden_values() -> None:
    # By hand: x1 = 100, x2 = 300, w = 200, y1 = 200 - 0.66 * 200 = 68, y2 = 68 + 200 = 268.
    assert crop_box(synthetic_landmarks()) == pytest.approx((100.0, 68.0, 300.0, 268.0))


def test_crop_box_rejects_bad_landmarks() -> None:
    with pytest.raises(InvalidInputError):
        crop_box(np.zeros((10, 2)))
    bad = synthetic_landmarks()
    bad[5] = np.nan
    with pytest.raises(InvalidInputError):
        crop_box(bad)


def test_round_trip_and_scale() -> None:
    ct = make_crop_transform(synthetic_landmarks(), size_px=400)
    assert ct.scale == pytest.approx(2.0)
    pts = np.array([[100.0, 68.0], [300.0, 268.0], [123.4, 222.2]])
    crop_pts = ct.points_to_crop(pts)
    np.testing.assert_allclose(crop_pts[:2], [[0, 0], [400, 400]], atol=1e-9)
    np.testing.assert_allclose(ct.points_to_frame(crop_pts), pts, atol=1e-9)


def test_crop_samples_the_right_pixels() -> None:
    # Scale 1 and an integer box: crop[j, i] must equal frame[y1 + j, x1 + i] exactly.
    frame = np.random.default_rng(1).integers(0, 256, (400, 500, 3), dtype=np.uint8)
    ct = make_crop_transform(synthetic_landmarks(), size_px=200)
    crop = ct.crop(frame)
    assert crop.shape == (200, 200, 3) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop, frame[68:268, 100:300])


def test_crop_keeps_a_bool_mask_and_float16_and_refuses_other_types() -> None:
    """bool, int64 and float16 raised a raw cv2.error from warpAffine; bool and float16 are
    resampled through uint8 / float32 (as paste_back does), the rest is refused clearly."""
    ct = make_crop_transform(synthetic_landmarks(), size_px=200)  # scale 1, integer box
    mask = np.zeros((400, 500), bool)
    mask[100:150, 120:200] = True
    cropped = ct.crop(mask)
    assert cropped.dtype == np.bool_ and cropped.shape == (200, 200)
    np.testing.assert_array_equal(cropped, mask[68:268, 100:300])
    np.testing.assert_array_equal(ct.crop(mask, cv2.INTER_NEAREST), mask[68:268, 100:300])
    half = np.random.default_rng(2).random((400, 500, 3)).astype(np.float16)
    out = ct.crop(half)
    assert out.dtype == np.float16 and out.shape == (200, 200, 3)
    np.testing.assert_array_equal(out, half[68:268, 100:300])
    for dtype in (np.int64, np.int32, np.int8, np.uint32, np.complex64):
        with pytest.raises(InvalidInputError, match="dtype") as info:
            ct.crop(np.zeros((400, 500), dtype))
        assert np.dtype(dtype).name in str(info.value) and "uint8" in str(info.value)
    with pytest.raises(InvalidInputError, match="at most 4 channels"):
        ct.crop(np.zeros((400, 500, 5), np.uint8), cv2.INTER_CUBIC)


def test_box_leaving_the_frame_is_padded_not_clipped() -> None:
    pts = synthetic_landmarks() - np.array([0.0, 118.0])  # box y1 = -50: 50 rows above the frame
    frame = np.full((300, 400, 3), 200, np.uint8)
    ct = make_crop_transform(pts, size_px=200)
    assert ct.box_px == pytest.approx((100.0, -50.0, 300.0, 150.0))
    crop = ct.crop(frame)
    assert crop.shape == (200, 200, 3)
    assert np.all(crop[:50] == 0)  # padding outside the frame
    assert np.all(crop[51:] == 200)  # the rest is the frame, same scale


def test_paste_back_lands_on_the_right_frame_pixels() -> None:
    ct = make_crop_transform(synthetic_landmarks(), size_px=400)  # 2 crop px per frame px
    mask = np.zeros((400, 400), bool)
    mask[100:200, 40:120] = True  # crop rows 100-199, cols 40-119
    pasted = ct.paste_back(mask, (400, 500))
    assert pasted.dtype == np.bool_ and pasted.shape == (400, 500)
    # Frame: x = 100 + col / 2, y = 68 + row / 2 -> rows 118-167, cols 120-159.
    expected = np.zeros((400, 500), bool)
    expected[118:168, 120:160] = True
    assert np.count_nonzero(pasted ^ expected) <= 2 * (50 + 40)  # at most the edge pixels
    assert pasted[130:160, 125:155].all() and not pasted[:110].any() and not pasted[:, 170:].any()

    prob = np.zeros((400, 400), np.float32)
    prob[100:200, 40:120] = 0.75
    pasted_prob = ct.paste_back(prob, (400, 500, 3))
    assert pasted_prob.dtype == np.float32
    assert pasted_prob[140, 140] == pytest.approx(0.75) and pasted_prob[10, 10] == 0.0
    with pytest.raises(InvalidInputError):
        ct.paste_back(np.zeros((10, 10)), (400, 500))


def test_roll_alignment_makes_the_eye_line_horizontal() -> None:
    pts = synthetic_landmarks()
    angle = math.radians(20.0)  # rotate clockwise on screen (y down) about (200, 200)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    rolled = (pts - 200.0) @ rot.T + 200.0
    assert eye_line_angle_deg(rolled) == pytest.approx(20.0, abs=1e-6)
    ct = make_crop_transform(rolled, size_px=640, align_roll=True)
    assert ct.roll_deg == pytest.approx(20.0, abs=1e-6)
    eyes = ct.points_to_crop(rolled[[33, 133, 362, 263]])
    np.testing.assert_allclose(eyes[:, 1], eyes[0, 1], atol=1e-6)
    # Same box as the upright face (rotation about the eye midpoint keeps sizes).
    upright = make_crop_transform(pts, size_px=640)
    assert ct.box_px[2] - ct.box_px[0] == pytest.approx(upright.box_px[2] - upright.box_px[0],
                                                        rel=0.02)  # fmt: skip
    np.testing.assert_allclose(ct.points_to_frame(ct.points_to_crop(rolled)), rolled, atol=1e-9)
    assert make_crop_transform(rolled, align_roll=False).roll_deg == 0.0


def test_to_dict_is_json_and_round_trips() -> None:
    ct = make_crop_transform(synthetic_landmarks(), size_px=320, align_roll=True)
    data = json.loads(json.dumps(ct.to_dict()))
    back = CropTransform.from_dict(data)
    np.testing.assert_allclose(back.matrix, ct.matrix)
    np.testing.assert_allclose(back.inverse, ct.inverse, atol=1e-12)
    assert back.size_px == 320 and len(data["corners_px"]) == 4


def test_real_photo_box_is_square_and_sized_by_the_face(
    faces_dir: Path, detected_faces: dict
) -> None:
    for name in ("biden2.jpg", "obama.jpg", "ffhq_00117.png"):
        face = detected_faces[name][0]
        x1, y1, x2, y2 = crop_box(face.landmarks_px)
        assert x2 - x1 == pytest.approx(y2 - y1)
        # Face width (ear to ear of the mesh) is about 2.2 interpupillary distances.
        assert 1.8 < (x2 - x1) / face.eye_distance_px < 2.8, name
        # The eyes sit 0.66 box widths below the top edge; the forehead is inside.
        ct = make_crop_transform(face.landmarks_px, 640)
        crop_pts = ct.points_to_crop(face.landmarks_px)
        assert crop_pts[168, 1] == pytest.approx(0.66 * 640, abs=1e-6)
        assert crop_pts[10, 1] > 0  # top of the face mesh (forehead) inside the crop


@pytest.fixture(scope="module")
def detected_faces(faces_dir: Path, landmarker_path: Path) -> dict:
    from wds_edge.io import read_image
    from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions

    found = {}
    with FaceLandmarker(FaceLandmarkerOptions(model_path=landmarker_path)) as landmarker:
        for name in ("biden2.jpg", "obama.jpg", "ffhq_00117.png"):
            image = cv2.cvtColor(read_image(faces_dir / name), cv2.COLOR_BGR2RGB)
            found[name] = landmarker.detect(image)
    return found


def _rolled_synthetic(angle_deg: float) -> np.ndarray:
    angle = math.radians(angle_deg)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return (synthetic_landmarks() - 200.0) @ rot.T + 200.0


def test_kiosk_crop_aligns_the_roll_and_returns_rgb() -> None:
    rolled = _rolled_synthetic(12.0)
    rng = np.random.default_rng(1)
    frame_bgr = rng.integers(0, 256, (420, 460, 3), dtype=np.uint8)
    crop_rgb, ct = kiosk_crop(frame_bgr, rolled, 96)
    assert ct.roll_deg == pytest.approx(12.0, abs=1e-6)  # the kiosk's default: aligned
    assert crop_rgb.shape == (96, 96, 3) and crop_rgb.dtype == np.uint8
    # Reference by hand: the transform's warp of the frame, channels reversed (BGR -> RGB).
    ref = cv2.warpAffine(frame_bgr, ct.matrix, (96, 96), flags=cv2.INTER_LINEAR)[:, :, ::-1]
    np.testing.assert_array_equal(crop_rgb, ref)
    # An RGB frame gives the same RGB crop; a Face-like object works like its landmarks.
    face = type("FaceLike", (), {"landmarks_px": rolled})()
    same, _ = kiosk_crop(np.ascontiguousarray(frame_bgr[:, :, ::-1]), face, 96, colour_order="rgb")
    np.testing.assert_array_equal(same, crop_rgb)
    unaligned, ct0 = kiosk_crop(frame_bgr, rolled, 96, align_roll=False)
    assert ct0.roll_deg == 0.0 and not np.array_equal(unaligned, crop_rgb)


def test_kiosk_crop_rejects_bad_input() -> None:
    frame = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(InvalidInputError, match="colour_order"):
        kiosk_crop(frame, synthetic_landmarks(), 64, colour_order="bgra")
    with pytest.raises(InvalidInputError, match=r"\(H, W, 3\)"):
        kiosk_crop(np.zeros((100, 100), np.uint8), synthetic_landmarks(), 64)
    with pytest.raises(InvalidInputError, match="landmarks"):
        kiosk_crop(frame, np.zeros((10, 2)), 64)


@pytest.mark.parametrize("size", ["abc", float("nan"), 64.7, True, 4])
def test_crop_size_must_be_a_whole_number_of_pixels(size: object) -> None:
    # "abc" and nan used to raise a bare ValueError and 64.7 was silently cut to 64
    frame = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(InvalidInputError, match="size_px must be a whole number >= 8"):
        kiosk_crop(frame, synthetic_landmarks(), size)  # type: ignore[arg-type]
    assert kiosk_crop(frame, synthetic_landmarks(), np.int64(64))[0].shape == (64, 64, 3)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64, np.int64, np.bool_])
def test_kiosk_crop_and_crop_face_refuse_frames_other_than_uint8(dtype: type) -> None:
    from wds_edge.perception.face_crop import crop_face

    # uint16 / float32 used to come back as non-uint8 crops, the others as a raw cv2.error.
    frame = np.full((400, 400, 3), 1, dtype=dtype)
    for call in (
        lambda: kiosk_crop(frame, synthetic_landmarks(), 64),
        lambda: crop_face(frame, synthetic_landmarks(), 64),
    ):
        with pytest.raises(InvalidInputError, match="uint8") as info:
            call()
        message = str(info.value)
        assert np.dtype(dtype).name in message and "HxWx3" in message
        assert "astype(np.uint8)" in message  # says how to convert


@pytest.mark.parametrize("rows", [200, 467])
def test_crop_needs_the_whole_face_mesh_like_the_regions(rows: int) -> None:
    from wds_edge.perception.regions import checked_landmarks

    # 169..467 rows used to pass (only P3, row 168, was checked) and gave a box from part
    # of the mesh; the crop and the regions now share the one check.
    part = synthetic_landmarks()[:rows]
    frame = np.zeros((400, 400, 3), np.uint8)
    for call in (
        lambda: crop_box(part),
        lambda: eye_line_angle_deg(part),
        lambda: make_crop_transform(part, 64),
        lambda: kiosk_crop(frame, part, 64),
        lambda: checked_landmarks(part),
    ):
        with pytest.raises(InvalidInputError, match=r"\(468 or 478, 2\)") as info:
            call()
        assert f"({rows}, 2)" in str(info.value)


def test_crop_accepts_the_mesh_without_irises() -> None:
    mesh = synthetic_landmarks()
    assert crop_box(mesh[:468]) == crop_box(mesh)
    with pytest.raises(InvalidInputError, match="landmarks"):
        crop_box("not landmarks")  # type: ignore[arg-type]


def test_paste_back_needs_a_real_frame_shape() -> None:
    ct = make_crop_transform(synthetic_landmarks(), 64)
    values = np.ones((64, 64), np.uint8)
    for shape in ((0, 0), (), (10,), (0, 50, 3)):
        # (0, 0) used to come back as a 64x64 array (cv2's "dsize 0 = source size").
        with pytest.raises(InvalidInputError, match="frame's shape") as info:
            ct.paste_back(values, shape)
        assert str(tuple(shape)) in str(info.value)
    assert ct.paste_back(values, (400, 300, 3)).shape == (400, 300)


def test_from_dict_refuses_a_matrix_without_an_inverse() -> None:
    data = make_crop_transform(synthetic_landmarks(), 64).to_dict()
    # A singular matrix used to give an all-zero inverse: every crop pixel onto (0, 0).
    for matrix in ([[0, 0, 0], [0, 0, 0]], [[1, 2, 0], [2, 4, 0]], [[1, 0, 0]]):
        with pytest.raises(InvalidInputError, match="matrix"):
            CropTransform.from_dict(dict(data, matrix=matrix))
    with pytest.raises(InvalidInputError, match="singular"):
        CropTransform.from_dict(dict(data, matrix=[[1, 2, 0], [2, 4, 0]]))
