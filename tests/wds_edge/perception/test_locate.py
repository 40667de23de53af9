"""The kiosk's locate step (wds_edge.perception.locate): landmarks on the downscaled frame, the
quality gates, then the colour gates, as the analyzer, calibration and labeling all run it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.io import read_image
from wds_edge.perception.landmarks import Face, FaceLandmarker, FaceLandmarkerOptions
from wds_edge.perception.locate import (
    DEFAULT_MAX_LANDMARK_SIDE_PX,
    detect_faces,
    gate_faces,
    locate_face,
)
from wds_edge.perception.quality import FrameStatus, QualityConfig


@pytest.fixture(scope="module")
def landmarker(landmarker_path: Path):  # noqa: ANN201
    options = FaceLandmarkerOptions(model_path=landmarker_path, mode="image", max_faces=2)
    with FaceLandmarker(options) as task:
        yield task


def _grey(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def test_landmarks_are_found_on_the_downscaled_frame(
    landmarker: FaceLandmarker, faces_dir: Path
) -> None:
    frame = read_image(faces_dir / "biden.jpg")  # 970 x 2204: over the 1920 px default
    assert max(frame.shape[:2]) > DEFAULT_MAX_LANDMARK_SIDE_PX
    seen: list[np.ndarray] = []

    def detect(rgb: np.ndarray) -> list[Face]:
        seen.append(rgb)
        return landmarker.detect(rgb)

    faces = detect_faces(detect, frame)
    assert len(seen) == 1 and max(seen[0].shape[:2]) == DEFAULT_MAX_LANDMARK_SIDE_PX
    small = cv2.resize(frame, seen[0].shape[1::-1], interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(seen[0], cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    raw = landmarker.detect(seen[0])
    factor = frame.shape[1] / seen[0].shape[1]
    assert len(faces) == len(raw) == 1
    np.testing.assert_allclose(faces[0].landmarks_px, raw[0].landmarks_px * factor, rtol=1e-6)
    # A frame within the limit is searched as it is.
    assert detect_faces(detect, frame, max_side_px=4096)[0].landmarks_px.shape == (478, 2)
    assert seen[-1].shape[:2] == frame.shape[:2]


def test_a_grey_face_needs_a_colour_camera(landmarker: FaceLandmarker, faces_dir: Path) -> None:
    grey = _grey(read_image(faces_dir / "biden2.jpg"))
    located = locate_face(landmarker.detect, grey)
    assert located.status is FrameStatus.NEEDS_COLOUR_CAMERA and located.colour == "grey"
    assert located.face is not None and located.crop is not None and located.faces_found == 1
    kept = locate_face(landmarker.detect, grey, grey_input_supported=True)
    assert kept.status is FrameStatus.OK and kept.colour == "grey"


def test_white_balance_gate_is_applied_and_can_be_turned_off(
    landmarker: FaceLandmarker, faces_dir: Path
) -> None:
    frame = read_image(faces_dir / "biden2.jpg")
    # Cool light: R x 0.7, B x 1.4 (MODEL_CARD's colour table).
    cool = np.clip(frame * np.array([1.4, 1.0, 0.7]), 0, 255).astype(np.uint8)
    faces = detect_faces(landmarker.detect, cool)
    located = gate_faces(cool, faces, QualityConfig(), crop_size_px=256)
    assert located.status is FrameStatus.COLOUR_CAST and located.cast is not None
    assert located.measured["skin_red_over_blue"] == pytest.approx(located.cast.red_over_blue)
    assert located.crop is not None and located.crop.size_px == 256
    off = gate_faces(cool, faces, QualityConfig(check_white_balance=False), crop_size_px=256)
    assert off.status is FrameStatus.OK and off.cast is None
    assert "skin_red_over_blue" not in off.measured
    plain = gate_faces(frame, detect_faces(landmarker.detect, frame))
    assert plain.status is FrameStatus.OK and plain.colour == "colour"


def test_no_face_is_a_status(landmarker: FaceLandmarker) -> None:
    located = locate_face(landmarker.detect, np.full((240, 320, 3), 128, np.uint8))
    assert located.status is FrameStatus.NO_FACE and located.faces_found == 0
    assert located.face is None and located.crop is None and located.colour == "grey"


def test_locate_refuses_frames_other_than_uint8_bgr(landmarker: FaceLandmarker) -> None:
    with pytest.raises(InvalidInputError, match="uint8"):
        locate_face(landmarker.detect, np.zeros((64, 64, 3), np.float32))
    with pytest.raises(InvalidInputError, match="HxWx3"):
        locate_face(landmarker.detect, np.zeros((64, 64), np.uint8))
