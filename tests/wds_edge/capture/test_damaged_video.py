"""A video with a damaged stretch mid-file (an SD-card glitch): OpenCV fails a few reads and
then decodes on, so the file sources read past the undecodable frames instead of ending there
and calling the file truncated."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from wds_edge.capture.sources import open_source


@pytest.fixture(scope="module")
def glitched_clip(video_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared clip's first 60 frames at 320x180 (MPEG-4 Part 2, as OpenCV writes MP4),
    with 20 kB zeroed a third of the way in: OpenCV fails the reads of frames 21-25 and
    decodes the rest."""
    path = tmp_path_factory.mktemp("glitch") / "glitch.mp4"
    capture = cv2.VideoCapture(str(video_path))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 180))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MP4 files")
    for _ in range(60):
        ok, frame = capture.read()
        assert ok
        writer.write(cv2.resize(frame, (320, 180)))
    writer.release()
    capture.release()
    data = bytearray(path.read_bytes())
    third = len(data) // 3
    data[third : third + 20_000] = bytes(20_000)
    path.write_bytes(bytes(data))
    return path


def _facts(source) -> tuple[list[int], list[int], tuple]:  # noqa: ANN001
    frames = list(iter(source.read, None))
    facts = (source.frames_read, source.expected_frames, source.ended_early)
    return [f.index for f in frames], [f.timestamp_ms for f in frames], facts


def test_a_damaged_stretch_is_read_past(
    glitched_clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with open_source(glitched_clip) as source:
        indices, stamps, (decoded, expected, ended_early) = _facts(source)
    assert expected == 60 and not ended_early  # it ended at its end, not at the glitch
    skipped = sorted(set(range(60)) - set(indices))
    assert indices == sorted(indices) and indices[-1] == 59 and decoded == len(indices)
    assert 0 < len(skipped) <= 10 and 10 < skipped[0] < 50  # the frames of the glitch
    # the indices and the media time agree past the gap (30 fps: 33.3 ms a frame)
    assert all(abs(s - i * 1000 / 30) <= 1 for i, s in zip(indices, stamps, strict=True))
    assert any(
        "skipped" in r.getMessage() and "undecodable" in r.getMessage() for r in caplog.records
    )
    with open_source(glitched_clip, realtime=True) as played:  # the background grabber too
        real_indices, _, real_facts = _facts(played)
    assert real_facts == (decoded, 60, False)
    assert set(real_indices) <= set(indices) and real_indices[-1] == 59
