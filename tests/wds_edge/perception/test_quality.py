"""Quality gates on real photos and on the reference kiosk clip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.capture.sources import open_source
from wds_edge.errors import InvalidInputError
from wds_edge.io import read_image
from wds_edge.perception.landmarks import Face, FaceLandmarker, FaceLandmarkerOptions
from wds_edge.perception.quality import FrameStatus, QualityConfig, assess_face, sharpness


@pytest.fixture(scope="module")
def landmarker(landmarker_path: Path):  # noqa: ANN201
    with FaceLandmarker(FaceLandmarkerOptions(model_path=landmarker_path)) as task:
        yield task


def _detect(landmarker: FaceLandmarker, bgr: np.ndarray) -> list[Face]:
    return landmarker.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def test_sharpness_golden_value() -> None:
    # One impulse in a 5x5 zero image: Laplacian = -4 at the centre, 1 at its 4
    # neighbours, 0 elsewhere -> mean 0, variance (16 + 4 * 1) / 25 = 0.8.
    image = np.zeros((5, 5), np.uint8)
    image[2, 2] = 1
    assert sharpness(image) == pytest.approx(0.8)
    assert sharpness(np.full((9, 9, 3), 77, np.uint8)) == 0.0
    mask = np.zeros((5, 5), bool)
    mask[2, 2] = True
    assert sharpness(image, mask) == 0.0  # a single value has no variance
    with pytest.raises(InvalidInputError):
        sharpness(np.zeros((5, 5, 4), np.uint8))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.uint16])
def test_sharpness_refuses_images_other_than_uint8(dtype: type) -> None:
    # float64 / int32 raised cv2.error; uint16 gave a number 65536 x larger (257^2 for the
    # same picture) that was compared with the 0-255 scale's min_sharpness without a word.
    image = np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)
    other = image.astype(dtype) * (257 if dtype is np.uint16 else 1)
    with pytest.raises(InvalidInputError, match="uint8") as info:
        sharpness(other)
    assert np.dtype(dtype).name in str(info.value)
    with pytest.raises(InvalidInputError, match="uint8"):
        sharpness(np.dstack([other] * 3))
    assert sharpness(image[:, :, None]) == sharpness(image)  # (H, W, 1) grey is fine


def test_sharpness_mask_must_be_an_array_of_the_image_size() -> None:
    image = np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8)
    mask = np.ones((8, 8), bool)
    with pytest.raises(InvalidInputError, match="numpy array"):
        sharpness(image, mask.tolist())  # type: ignore[arg-type]  # was AttributeError
    with pytest.raises(InvalidInputError, match=r"\(8, 8\)"):
        sharpness(image, mask[:4])
    assert sharpness(image, mask) == sharpness(image)


def test_every_status_has_a_prompt() -> None:
    assert FrameStatus.FACE_TOO_SMALL.prompt == "move closer"
    assert FrameStatus.TOO_BLURRY.prompt == "hold still"
    assert all(status.prompt for status in FrameStatus)
    assert FrameStatus("too_blurry") is FrameStatus.TOO_BLURRY and FrameStatus.OK == "ok"
    with pytest.raises(InvalidInputError, match="'max_yawdeg' is not a known setting"):
        QualityConfig(max_yawdeg=3)  # type: ignore[call-arg]
    with pytest.raises(InvalidInputError, match="multi_face_policy = 'all'"):
        QualityConfig(multi_face_policy="all")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["biden2.jpg", "obama.jpg", "ffhq_00117.png", "obama3.jpg"])
def test_good_photos_pass(landmarker: FaceLandmarker, faces_dir: Path, name: str) -> None:
    frame = read_image(faces_dir / name)
    status, face, measured = assess_face(frame, _detect(landmarker, frame))
    assert status is FrameStatus.OK, measured
    assert face is not None
    assert measured["sharpness"] > 3 * QualityConfig().min_sharpness
    assert set(measured) >= {"n_faces", "eye_distance_px", "brightness", "sharpness", "yaw_deg"}


def test_two_faces_policy(landmarker: FaceLandmarker, faces_dir: Path) -> None:
    frame = read_image(faces_dir / "obama_and_biden.jpg")
    faces = _detect(landmarker, frame)
    assert len(faces) == 2
    status, chosen, measured = assess_face(frame, faces[::-1], QualityConfig())
    assert status is FrameStatus.OK and measured["n_faces"] == 2
    assert chosen is not None and chosen.area_px == max(f.area_px for f in faces)
    refused, _, _ = assess_face(frame, faces, QualityConfig(multi_face_policy="refuse"))
    assert refused is FrameStatus.MULTIPLE_FACES


def test_gates_fire(landmarker: FaceLandmarker, faces_dir: Path) -> None:
    frame = read_image(faces_dir / "biden2.jpg")
    faces = _detect(landmarker, frame)
    assert assess_face(frame, [])[0] is FrameStatus.NO_FACE
    assert assess_face(frame, [])[1] is None
    # The gates measure the frame: darken, brighten or blur it, keep the same face.
    dark = (frame * 0.2).astype(np.uint8)
    assert assess_face(dark, faces)[0] is FrameStatus.TOO_DARK
    bright = cv2.add(frame, np.full_like(frame, 120))
    assert assess_face(bright, faces)[0] is FrameStatus.OVEREXPOSED
    blurred = cv2.GaussianBlur(frame, (0, 0), 6)
    status, _, measured = assess_face(blurred, faces)
    assert status is FrameStatus.TOO_BLURRY, measured
    strict = QualityConfig(min_eye_distance_px=500)
    assert assess_face(frame, faces, strict)[0] is FrameStatus.FACE_TOO_SMALL
    # A real smaller face: the photo at a quarter of its size.
    small = cv2.resize(frame, (300, 300), interpolation=cv2.INTER_AREA)
    small_faces = _detect(landmarker, small)
    assert assess_face(small, small_faces)[0] is FrameStatus.FACE_TOO_SMALL


@pytest.mark.parametrize(
    "name",
    ["biden.jpg", "biden2.jpg", "ffhq_00016.png", "ffhq_00117.png", "obama.jpg", "obama3.jpg"],
)
def test_a_sharp_small_face_is_not_called_blurred(
    landmarker: FaceLandmarker, faces_dir: Path, name: str
) -> None:
    """The photo scaled down (area interpolation, as a camera farther away) until its eyes are
    64 px apart, just above the size gate: its face box spans 133-153 frame pixels. Enlarged to
    the 256 px measuring size it read 13.5-30 (biden, ffhq_00117, obama3: too_blurry, "hold
    still"); measured at its own size 52-133, and the same frame blurred is still refused.
    sharpness_ranked, the figure frames are compared by, stays the 256 px measurement: below
    the gate's value for the small face (which reads sharper the smaller the face)."""
    frame = read_image(faces_dir / name)
    _, face, _ = assess_face(frame, _detect(landmarker, frame))
    assert face is not None
    factor = 64 / face.eye_distance_px
    small = cv2.resize(frame, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    status, face, measured = assess_face(small, _detect(landmarker, small))
    assert face is not None and 60 <= measured["eye_distance_px"] < 70, measured
    assert status is FrameStatus.OK, measured
    assert measured["sharpness"] > 2 * QualityConfig().min_sharpness, measured
    assert measured["sharpness_ranked"] < measured["sharpness"], measured
    blurred = cv2.GaussianBlur(small, (0, 0), 3)
    status, _, measured = assess_face(blurred, _detect(landmarker, blurred))
    # (ffhq_00016 blurred: the landmarks shrink its eyes below 60 px, face_too_small)
    assert status in (FrameStatus.TOO_BLURRY, FrameStatus.FACE_TOO_SMALL), measured
    assert measured["sharpness"] < QualityConfig().min_sharpness / 2, measured


@pytest.mark.parametrize("name", ["biden.jpg", "biden2.jpg", "obama2.jpg", "ffhq_00117.png"])
def test_the_blur_gate_does_not_depend_on_the_model_size(
    landmarker: FaceLandmarker, faces_dir: Path, name: str
) -> None:
    """A 128 px model's crop was enlarged to the 256 px measuring size (area interpolation,
    nearest-neighbour when enlarging): its blocky pixels read as sharp, so biden2.jpg blurred
    by a 6 px Gaussian measured 38 (ok) at 128 px and 2.8 (too_blurry) at 640 px, and the
    sharp photo 277 against 120. The pixels sharpness is measured on are warped from the frame
    at 640 px whatever the model's size (the skin mask is the model crop's, resized): within
    about 10 % of each other for a 128, a 256 and a 640 px model crop."""
    frame = read_image(faces_dir / name)
    for image, expected in ((frame, FrameStatus.OK), (cv2.GaussianBlur(frame, (0, 0), 6), None)):
        faces = _detect(landmarker, image)
        results = {size: assess_face(image, faces, crop_size_px=size) for size in (128, 256, 640)}
        at_640 = results[640][2]
        for size, (status, _, measured) in results.items():
            assert status is (expected or FrameStatus.TOO_BLURRY), (size, measured)
            assert measured["sharpness"] == pytest.approx(at_640["sharpness"], rel=0.12), size
            assert measured["sharpness_ranked"] == pytest.approx(
                at_640["sharpness_ranked"], rel=0.12
            )
            assert measured["brightness"] == pytest.approx(at_640["brightness"], abs=1.5)
        if expected is None:
            assert at_640["sharpness"] < QualityConfig().min_sharpness / 3, at_640
        else:
            assert at_640["sharpness"] > 3 * QualityConfig().min_sharpness, at_640


def test_turned_away(landmarker: FaceLandmarker, faces_dir: Path) -> None:
    frame = read_image(faces_dir / "obama2.jpg")  # yaw about -15 degrees
    faces = _detect(landmarker, frame)
    assert assess_face(frame, faces)[0] is FrameStatus.OK
    assert assess_face(frame, faces, QualityConfig(max_yaw_deg=8))[0] is FrameStatus.TURNED_AWAY
    upright = read_image(faces_dir / "biden2.jpg")
    tilted = cv2.warpAffine(upright, cv2.getRotationMatrix2D((600, 600), 35, 1.0), (1200, 1200))
    status, face, _ = assess_face(tilted, _detect(landmarker, tilted))
    assert status is FrameStatus.TURNED_AWAY and face is not None and face.roll_deg < -25


def test_a_face_cut_off_by_the_frame_edge(landmarker: FaceLandmarker, faces_dir: Path) -> None:
    """biden.jpg with its top rows cut away: 200 rows leave every scoring region in the
    frame; 334 rows take the forehead and glabella away, which would turn "overall" into
    the crow's feet and under-eyes alone (0.7 -> 6.5 % in the issue's measurement)."""
    frame = read_image(faces_dir / "biden.jpg")
    for rows, expected in (
        (0, FrameStatus.OK),
        (200, FrameStatus.OK),
        (334, FrameStatus.FACE_CUT_OFF),
    ):
        cut = np.ascontiguousarray(frame[rows:])
        status, face, measured = assess_face(cut, _detect(landmarker, cut))
        assert status is expected, (rows, measured)
        assert face is not None
    assert measured["regions_in_frame"] < 0.5
    assert FrameStatus.FACE_CUT_OFF.prompt == "keep your whole face in the picture"
    loose = QualityConfig(min_regions_in_frame=0.2)
    assert assess_face(cut, _detect(landmarker, cut), loose)[0] is FrameStatus.OK


def test_reference_clip_statuses(video_path: Path, landmarker_path: Path) -> None:
    """Frames 0-179 mostly OK, blurred 180-209 TOO_BLURRY, empty 210-239 NO_FACE.

    Every 10th frame (plus every 3rd in the blurred span) to keep the test short;
    the sharpness values measured here are the ones the default threshold was
    chosen from (module docstring of wds_edge.perception.quality).
    """
    wanted = set(range(0, 180, 10)) | set(range(180, 210, 3)) | set(range(210, 240, 10))
    statuses: dict[int, FrameStatus] = {}
    sharp: dict[int, float] = {}
    options = FaceLandmarkerOptions(model_path=landmarker_path, mode="video", max_faces=1)
    with open_source(video_path) as source, FaceLandmarker(options) as task:
        for frame in source:
            if frame.index not in wanted:
                continue
            rgb = cv2.cvtColor(frame.image_bgr, cv2.COLOR_BGR2RGB)
            faces = task.detect(rgb, frame.timestamp_ms)
            statuses[frame.index], _, measured = assess_face(frame.image_bgr, faces)
            sharp[frame.index] = measured.get("sharpness", float("nan"))
    assert set(statuses) == wanted
    good = [i for i in statuses if i < 180 and statuses[i] is FrameStatus.OK]
    assert len(good) >= 0.9 * len(range(0, 180, 10)), statuses
    assert all(statuses[i] is FrameStatus.TOO_BLURRY for i in range(180, 210, 3)), statuses
    assert all(statuses[i] is FrameStatus.NO_FACE for i in range(210, 240, 10)), statuses
    threshold = QualityConfig().min_sharpness
    assert min(sharp[i] for i in good) > 1.5 * threshold
    assert max(sharp[i] for i in range(180, 210, 3)) < threshold / 2


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_frames_other_than_uint8_are_refused(
    landmarker: FaceLandmarker, faces_dir: Path, dtype: type
) -> None:
    frame = read_image(faces_dir / "obama.jpg")
    faces = _detect(landmarker, frame)
    assert faces
    # The same picture at 16 bits used to read as OVEREXPOSED; float32 gave a raw cv2.error.
    other = frame.astype(dtype) * (257 if dtype is np.uint16 else 1 / 255)
    with pytest.raises(InvalidInputError, match="uint8") as info:
        assess_face(other.astype(dtype), faces)
    assert np.dtype(dtype).name in str(info.value) and "astype(np.uint8)" in str(info.value)
    with pytest.raises(InvalidInputError, match="uint8"):
        assess_face(other.astype(dtype), [])


def test_a_brightness_range_no_frame_can_meet_is_refused() -> None:
    # min above max used to be accepted, and then every frame failed a brightness gate.
    with pytest.raises(InvalidInputError) as info:
        QualityConfig(min_brightness=200, max_brightness=100)
    message = str(info.value)
    assert message.startswith("invalid quality settings: ")
    assert "min_brightness (200) must not be above max_brightness (100)" in message
    assert QualityConfig(min_brightness=120, max_brightness=120).min_brightness == 120


@pytest.mark.parametrize("field", ["min_eye_distance_px", "min_sharpness"])
def test_an_infinite_or_nan_threshold_is_refused(field: str) -> None:
    # inf passed the ge=0 bounds and then refused every frame
    for value in (float("inf"), float("nan")):
        with pytest.raises(InvalidInputError, match="finite number"):
            QualityConfig(**{field: value})
