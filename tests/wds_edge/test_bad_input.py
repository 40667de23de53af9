"""Bad input never crashes or hangs: each gets a clear error or a status."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.capture.sources import open_source
from wds_edge.errors import CaptureError, InvalidInputError, ModelError
from wds_edge.perception.quality import FrameStatus


@pytest.fixture(scope="module")
def biden_jpeg(faces_dir: Path) -> bytes:
    return (faces_dir / "biden2.jpg").read_bytes()


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("corrupt.jpg", lambda b: b[:2] + bytes(range(256)) * 40 + b[-2:], "corrupt"),
        ("truncated.jpg", lambda b: b[: len(b) // 2], "truncated"),
        ("empty.png", lambda b: b"", "empty"),
        ("text.png", lambda b: b"not an image at all\n", "cannot decode"),
    ],
)
def test_unreadable_files_are_clear_errors(
    analyzer: WrinkleAnalyzer,
    tmp_path: Path,
    biden_jpeg: bytes,
    name: str,
    make,
    message: str,  # noqa: ANN001
) -> None:
    path = tmp_path / name
    path.write_bytes(make(biden_jpeg))
    with pytest.raises(InvalidInputError, match=message) as info:
        analyzer.analyze_file(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("kind", ["grey", "16bit", "rgba"])
def test_grey_16bit_and_rgba_files_are_converted_and_analysed(
    analyzer: WrinkleAnalyzer, tmp_path: Path, biden_bgr: np.ndarray, kind: str
) -> None:
    if kind == "grey":
        image = cv2.cvtColor(biden_bgr, cv2.COLOR_BGR2GRAY)
    elif kind == "16bit":
        image = biden_bgr.astype(np.uint16) * 257
    else:
        image = cv2.cvtColor(biden_bgr, cv2.COLOR_BGR2BGRA)
        image[:, :, 3] = 200
    path = tmp_path / f"{kind}.png"
    assert cv2.imwrite(str(path), image)
    r = analyzer.analyze_file(path)
    if kind == "grey":  # the model sees RGB: a grey photo asks for a colour camera
        assert r.status is FrameStatus.NEEDS_COLOUR_CAMERA and not r.segmented
        assert r.colour == "grey" and r.to_dict()["colour"] == "grey"
    else:
        assert r.status is FrameStatus.OK and r.segmented and r.colour == "colour"
    assert "decode" in r.timings_ms and r.timings_ms["total"] >= r.timings_ms["decode"]


def test_arrays_of_other_depths_are_converted(
    analyzer: WrinkleAnalyzer, biden_bgr: np.ndarray
) -> None:
    grey = cv2.cvtColor(biden_bgr, cv2.COLOR_BGR2GRAY)
    assert analyzer.analyze(grey).status is FrameStatus.NEEDS_COLOUR_CAMERA
    assert analyzer.analyze(biden_bgr.astype(np.float32) / 255.0).status is FrameStatus.OK
    with pytest.raises(InvalidInputError, match="H x W"):
        analyzer.analyze(np.zeros((4, 4, 4, 3), np.uint8))
    with pytest.raises(InvalidInputError, match="numpy array"):
        analyzer.analyze("face.jpg")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        analyzer.analyze(np.zeros((0, 10, 3), np.uint8))


def test_8k_image_is_analysed(
    analyzer: WrinkleAnalyzer, tmp_path: Path, biden_bgr: np.ndarray
) -> None:
    canvas = np.full((4320, 7680, 3), 90, np.uint8)
    face = cv2.resize(biden_bgr, (4320, 4320), interpolation=cv2.INTER_CUBIC)
    canvas[:, 1680:6000] = face
    path = tmp_path / "8k.jpg"
    assert cv2.imwrite(str(path), canvas, [cv2.IMWRITE_JPEG_QUALITY, 85])
    del canvas, face
    start = time.perf_counter()
    r = analyzer.analyze_file(path)
    assert time.perf_counter() - start < 30.0
    assert r.frame_shape == (4320, 7680)
    assert r.status is FrameStatus.OK and r.segmented
    x1, _, x2, _ = r.face_box_px  # landmarks found on a downscaled copy, reported in 8K pixels
    assert 1680 < x1 < x2 < 6000 and x2 - x1 > 1000


def test_tiny_image_is_no_face_or_too_small(
    analyzer: WrinkleAnalyzer, tmp_path: Path, biden_bgr: np.ndarray
) -> None:
    path = tmp_path / "tiny.png"
    assert cv2.imwrite(str(path), cv2.resize(biden_bgr, (32, 32), interpolation=cv2.INTER_AREA))
    r = analyzer.analyze_file(path)
    assert r.status in (FrameStatus.NO_FACE, FrameStatus.FACE_TOO_SMALL)
    assert not r.segmented and r.prompt


def test_missing_camera_is_a_capture_error_quickly() -> None:
    start = time.perf_counter()
    with pytest.raises(CaptureError), open_source("v4l2:///dev/video97", read_timeout_s=1.0) as s:
        s.read()
    with pytest.raises(CaptureError), open_source(97, read_timeout_s=1.0) as source:
        source.read()
    assert time.perf_counter() - start < 30.0


@pytest.mark.parametrize(
    ("changes", "fix"),
    [
        ({"drop_all": "1"}, "carries no wds-edge metadata.*wds-edge export"),
        ({"preprocessing": "texture_outside"}, "needs 4 input channels"),
        ({"format_version": "99"}, "newer than this runtime reads.*upgrade wds-edge"),
    ],
)
def test_models_whose_metadata_cannot_be_met(
    onnx_model_path: Path,
    landmarker_path: Path,
    tmp_path: Path,
    metadata_rewriter,
    changes,
    fix,  # noqa: ANN001
) -> None:
    bad = metadata_rewriter(onnx_model_path, tmp_path / "bad.onnx", **changes)
    with pytest.raises(ModelError, match=fix):
        WrinkleAnalyzer(model_path=str(bad), landmarker_path=str(landmarker_path))


def test_missing_landmarker_model_says_what_to_do(onnx_model_path: Path, tmp_path: Path) -> None:
    with pytest.raises((ModelError, InvalidInputError)) as info:
        WrinkleAnalyzer(model_path=str(onnx_model_path), landmarker_path=str(tmp_path / "x.task"))
    assert "models fetch" in str(info.value) or "x.task" in str(info.value)
