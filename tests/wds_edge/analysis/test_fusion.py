"""Fusing probability maps of several frames: registration by the landmarks, the misfit that
drops a frame, and the running score of a live screen. Landmarks are real (MediaPipe on the
shared photos); the moved copies are made by hand, so the expected maps are known exactly."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.analysis.fusion import fuse_probabilities, landmark_misfit_mm, register_landmarks
from wds_edge.analysis.running import RunningScore
from wds_edge.errors import InvalidInputError
from wds_edge.io import read_image
from wds_edge.perception.face_crop import crop_face
from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions

SIZE = 256


@pytest.fixture(scope="module")
def crop_landmarks(faces_dir: Path, landmarker_path: Path) -> dict[str, np.ndarray]:
    out = {}
    with FaceLandmarker(FaceLandmarkerOptions(model_path=landmarker_path)) as landmarker:
        for name in ("biden2.jpg", "ffhq_00016.png"):
            bgr = read_image(faces_dir / name)
            face = landmarker.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))[0]
            out[name] = crop_face(bgr, face, SIZE).landmarks_crop_px
    return out


def _lines() -> np.ndarray:
    prob = np.zeros((SIZE, SIZE), np.float32)
    for y in range(60, 200, 23):
        cv2.line(prob, (40, y), (210, y + 9), 0.9, 2)
    return prob


def test_a_moved_frame_is_registered_back_exactly(crop_landmarks) -> None:  # noqa: ANN001
    lm = crop_landmarks["biden2.jpg"]
    prob = _lines()
    dx, dy = 5, -3  # the face 5 px right and 3 px up in the second frame's crop
    moved = np.roll(np.roll(prob, dy, axis=0), dx, axis=1)
    fused = fuse_probabilities([prob, moved], [lm, lm + (dx, dy)], reference=0)
    assert fused.used == [0, 1] and fused.dropped == []
    inner = (slice(20, SIZE - 20), slice(20, SIZE - 20))
    np.testing.assert_allclose(fused.prob[inner], prob[inner], atol=1e-4)
    # Without registration the lines would be smeared: the mean of both maps differs.
    assert np.abs((prob + moved)[inner] / 2 - prob[inner]).max() > 0.4
    matrix = register_landmarks(lm + (dx, dy), lm)
    np.testing.assert_allclose(matrix, [[1, 0, -dx], [0, 1, -dy]], atol=1e-3)


def test_a_similar_copy_fits_and_another_face_does_not(crop_landmarks) -> None:  # noqa: ANN001
    lm = crop_landmarks["biden2.jpg"]
    angle = np.deg2rad(3.0)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    turned = (lm - 128) @ rot.T * 1.05 + 128 + (2.0, 1.0)  # rotated, scaled, shifted
    median, misfit = landmark_misfit_mm([lm, lm, turned])  # the median is lm itself
    np.testing.assert_allclose(median, lm)
    assert max(misfit) < 0.01  # a similarity transform is fitted away entirely
    other = crop_landmarks["ffhq_00016.png"]
    _, misfit = landmark_misfit_mm([lm, lm, lm, other])
    assert misfit[3] > 1.5 and max(misfit[:3]) < 0.01  # another face: beyond the tolerance
    probs = [_lines()] * 4
    fused = fuse_probabilities(probs, [lm, lm, lm, other], reference=0)
    assert fused.dropped == [3] and fused.used == [0, 1, 2]


def test_bad_input_is_refused(crop_landmarks) -> None:  # noqa: ANN001
    lm = crop_landmarks["biden2.jpg"]
    with pytest.raises(InvalidInputError, match="one landmark set per"):
        fuse_probabilities([_lines()], [lm, lm], reference=0)
    with pytest.raises(InvalidInputError, match="reference 2"):
        fuse_probabilities([_lines()], [lm], reference=2)
    with pytest.raises(InvalidInputError, match="one crop size"):
        fuse_probabilities([_lines(), np.zeros((8, 8))], [lm, lm], reference=0)


def test_running_score_follows_one_face_and_restarts_for_another(
    analyzer, biden_bgr: np.ndarray, faces_dir: Path
) -> None:  # noqa: ANN001
    running = RunningScore(analyzer, window=3)
    single = analyzer.analyze(biden_bgr)
    shown = running.add(single)
    np.testing.assert_allclose(shown.wrinkle_prob, single.wrinkle_prob, atol=1e-6)
    assert shown.scores["overall"].wrinkle_ratio == single.scores["overall"].wrinkle_ratio
    for _ in range(4):
        shown = running.add(single)
    assert running.frames == 3 and running.restarts == 0  # the window holds 3 frames
    np.testing.assert_allclose(shown.wrinkle_prob, single.wrinkle_prob, atol=1e-5)
    assert "running" in shown.timings_ms
    other = analyzer.analyze(read_image(faces_dir / "ffhq_00016.png"))
    shown = running.add(other)
    assert running.frames == 1 and running.restarts == 1  # a new face: a new window
    np.testing.assert_allclose(shown.wrinkle_prob, other.wrinkle_prob, atol=1e-6)
    located = analyzer.locate(biden_bgr)
    assert running.add(located) is located and running.frames == 0  # not segmented: reset
    with pytest.raises(InvalidInputError, match="window"):
        RunningScore(analyzer, window=0)


def test_running_score_registers_moved_frames_and_forgets_the_oldest(
    analyzer, biden_bgr: np.ndarray
) -> None:  # noqa: ANN001
    single = analyzer.analyze(biden_bgr)
    lm, size = single.face_crop.landmarks_crop_px, single.wrinkle_prob.shape[0]
    assert size == SIZE
    prob = _lines()  # lines the test model would not draw: the expected maps are known

    def frame(p: np.ndarray, landmarks: np.ndarray):  # noqa: ANN202
        crop = dataclasses.replace(single.face_crop, landmarks_crop_px=landmarks)
        return dataclasses.replace(single, wrinkle_prob=p, face_crop=crop)

    dx, dy = 6, -4  # the face 6 px right and 4 px up in the second frame's crop
    moved = np.roll(np.roll(prob, dy, axis=0), dx, axis=1)
    running = RunningScore(analyzer, window=2)
    running.add(frame(prob, lm))
    shown = running.add(frame(moved, lm + (dx, dy)))
    inner = (slice(40, size - 40), slice(40, size - 40))
    # the older frame is registered onto the newest: the mean is the newest map, not a smear
    np.testing.assert_allclose(shown.wrinkle_prob[inner], moved[inner], atol=2e-3)
    assert np.abs((prob + moved)[inner] / 2 - moved[inner]).max() > 0.3
    # a third frame (no wrinkles, back in place) pushes the first out of the 2-frame window:
    # what is shown is the mean of the moved frame (registered back) and the empty one
    shown = running.add(frame(np.zeros_like(prob), lm))
    assert running.frames == 2 and running.restarts == 0
    np.testing.assert_allclose(shown.wrinkle_prob[inner], prob[inner] / 2, atol=2e-3)
    # on and on (the anchor crop moves to a newer frame every 2 windows): once the empty
    # frame has left, the window holds the same lines twice, one of them moved: registered
    for i in range(10):
        newest = frame(moved, lm + (dx, dy)) if i % 2 else frame(prob, lm)
        shown = running.add(newest)
        if i:
            expected = newest.wrinkle_prob[inner]
            np.testing.assert_allclose(shown.wrinkle_prob[inner], expected, atol=2e-3)
