"""``open_source(..., rotate=...)``: a camera mounted on its side or upside down gives
upright frames, whatever kind of source it is.

Real decoding throughout: ``rotated_clip`` is the kiosk clip turned 90 degrees clockwise
with OpenCV (a camera lying on its side), ``rotate=270`` turns it back; real MediaPipe
tells the turned frames from the upright ones.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.analysis.live import open_live_source
from wds_edge.capture import RotatedSource, rotate_image
from wds_edge.capture.grabber import ThreadedSource
from wds_edge.capture.sources import open_source
from wds_edge.errors import InvalidInputError


@pytest.fixture(scope="module")
def upright_first(video_path: Path) -> np.ndarray:
    """The kiosk clip's first frame as it is."""
    cap = cv2.VideoCapture(str(video_path))
    ok, frame = cap.read()
    cap.release()
    assert ok
    return frame


def _close_to(frame: np.ndarray, reference: np.ndarray) -> bool:
    """Same size, and the same picture up to mp4v's loss."""
    if frame.shape != reference.shape:
        return False
    return float(np.mean(cv2.absdiff(frame, reference))) < 6.0


def test_rotate_270_undoes_a_camera_on_its_side(rotated_clip: Path, upright_first) -> None:  # noqa: ANN001
    height, width = upright_first.shape[:2]
    with open_source(rotated_clip) as sideways:
        assert sideways.size == (height, width)  # as recorded: on its side
        assert sideways.read().image_bgr.shape[:2] == (width, height)
    with open_source(rotated_clip, rotate=270) as source:
        assert isinstance(source, RotatedSource)
        assert source.size == (width, height)  # the metadata is the turned frames'
        assert source.fps == pytest.approx(30.0) and not source.is_live
        assert source.expected_frames == 12
        frames = list(source)
        assert not source.ended_early and source.frames_read == 12
    assert len(frames) == 12
    assert [f.index for f in frames] == list(range(12))  # index and times kept
    assert all(f.image_bgr.shape[:2] == (height, width) for f in frames)
    assert _close_to(frames[0].image_bgr, upright_first)


def test_rotate_on_the_grabber_paths(rotated_clip: Path, upright_first) -> None:  # noqa: ANN001
    """The realtime file goes through the background grabber, open_live_source through the
    reconnecting source on top of it (the service's camera and the demo's): both turned."""
    height, width = upright_first.shape[:2]
    with open_source(rotated_clip, rotate=270, realtime=True) as source:
        assert isinstance(source.wrapped, ThreadedSource) and source.is_live
        assert source.size == (width, height)
        frame = source.read()
        assert frame is not None and _close_to(frame.image_bgr, upright_first)
        assert source.reconnects == 0  # the grabber's own attributes come through
    live = open_live_source(str(rotated_clip), loop=True, rotate=270)
    try:
        assert live.source.size == (width, height)
        frame = None
        while frame is None:
            frame = live.read()
        assert frame.image_bgr.shape[:2] == (height, width)
    finally:
        live.close()


def test_rotate_images(faces_dir: Path, tmp_path: Path) -> None:
    photo = cv2.imread(str(faces_dir / "biden2.jpg"))
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(tmp_path / name), photo)
    height, width = photo.shape[:2]
    with open_source(tmp_path, rotate=90) as source:
        frames = list(source)
        assert source.size == (height, width)
    assert [f.index for f in frames] == [0, 1]
    for frame in frames:  # lossless: exactly cv2.rotate's
        assert np.array_equal(frame.image_bgr, cv2.rotate(photo, cv2.ROTATE_90_CLOCKWISE))
    with open_source(tmp_path / "a.png", rotate=180) as source:
        image = source.read().image_bgr
    assert np.array_equal(rotate_image(image, 180), photo)


@pytest.mark.parametrize("bad", [45, -90, 360, 90.5, True, "90", None])
def test_bad_rotation_is_refused(rotated_clip: Path, bad: object) -> None:
    with pytest.raises(InvalidInputError, match=r"rotate must be one of 0, 90, 180, 270"):
        open_source(rotated_clip, rotate=bad)


def test_a_sideways_face_is_found_only_when_turned(rotated_clip: Path, analyzer) -> None:  # noqa: ANN001
    """Real MediaPipe: the sideways frame has no usable face; turned back, it is ok."""
    with open_source(rotated_clip) as source:
        sideways = source.read().image_bgr
    with open_source(rotated_clip, rotate=270) as source:
        upright = source.read().image_bgr
    assert str(analyzer.analyze(sideways).status.value) in ("turned_away", "no_face")
    result = analyzer.analyze(upright)
    assert result.ok, result.status
