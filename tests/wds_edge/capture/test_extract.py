"""Frame extraction from videos (``wds_edge.capture.extract``): selection, content, refusals."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from fault_helpers import truncated_avi

from wds_edge.capture.extract import extract_frames, frame_file_name
from wds_edge.errors import CaptureError, InvalidInputError
from wds_edge.io import read_image

N_FRAMES = 20


def _grey_level(index: int) -> int:
    return 10 * index + 20


@pytest.fixture(scope="module")
def counting_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 20-frame MJPG AVI whose frame i is a flat grey of 10 * i + 20 (decodes to +-3)."""
    path = tmp_path_factory.mktemp("video") / "count.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MJPG AVI files")
    for i in range(N_FRAMES):
        writer.write(np.full((48, 64, 3), _grey_level(i), np.uint8))
    writer.release()
    return path


def test_every_start_stop_select_the_right_frames(counting_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    result = extract_frames(counting_video, out, every=3, start=2, stop=15)
    assert result.indices == [2, 5, 8, 11, 14]  # start <= i < stop, step 3
    assert result.frames_read == 15  # frames 0..14; frame 15 (= stop) is not read
    assert [p.name for p in result.paths] == [f"count_f{i:06d}.png" for i in result.indices]
    assert sorted(out.iterdir()) == result.paths
    assert result.size == (64, 48) and result.fps == pytest.approx(10.0)
    for index, path in zip(result.indices, result.paths, strict=True):
        image = read_image(path)
        assert image.shape == (48, 64, 3)
        # the file holds frame `index`, not a neighbour (neighbours differ by 10 grey levels)
        assert abs(float(image.mean()) - _grey_level(index)) < 4


def test_default_is_every_frame_to_the_end(counting_video: Path, tmp_path: Path) -> None:
    result = extract_frames(counting_video, tmp_path, image_format="jpg", prefix="kiosk 1")
    assert result.indices == list(range(N_FRAMES)) and result.frames_read == N_FRAMES
    assert result.expected_frames == N_FRAMES and not result.ended_early
    assert result.paths[0].name == "kiosk_1_f000000.jpg"  # unsafe characters replaced


def test_frames_match_an_independent_decode_of_the_shared_video(
    video_path: Path, tmp_path: Path
) -> None:
    result = extract_frames(video_path, tmp_path, every=6, stop=13)
    assert result.indices == [0, 6, 12] and result.size == (1280, 720)
    capture = cv2.VideoCapture(str(video_path))
    expected = {}
    for i in range(13):
        ok, frame = capture.read()
        assert ok
        expected[i] = frame
    capture.release()
    for index, path in zip(result.indices, result.paths, strict=True):
        assert np.array_equal(read_image(path), expected[index])  # PNG is lossless


def test_a_truncated_video_ended_early_and_keeps_its_frames(
    video_path: Path, tmp_path: Path
) -> None:
    """A real MJPG AVI of 40 frames cut to half its bytes: the frames before the cut are
    written (valid images), and the result says the video ended before its 40 frames."""
    cut = truncated_avi(video_path, tmp_path / "cut.avi", frames=40)
    result = extract_frames(cut, tmp_path / "out", every=5)
    assert result.ended_early and result.expected_frames == 40
    assert 0 < result.frames_read < 39
    assert result.indices == list(range(0, result.frames_read, 5))
    assert sorted((tmp_path / "out").iterdir()) == result.paths
    assert all(read_image(path).shape == (180, 320, 3) for path in result.paths)
    # stopping before the cut: every asked frame is there, nothing ended early
    before = extract_frames(cut, tmp_path / "before", every=5, stop=10)
    assert before.indices == [0, 5] and before.frames_read == 10 and not before.ended_early


def test_earlier_frames_are_not_overwritten_without_force(
    counting_video: Path, tmp_path: Path
) -> None:
    first = extract_frames(counting_video, tmp_path, every=5)
    stamps = [p.stat().st_mtime_ns for p in first.paths]
    with pytest.raises(InvalidInputError, match="--force"):
        extract_frames(counting_video, tmp_path, every=2)
    assert sorted(tmp_path.iterdir()) == first.paths  # nothing written by the refused call
    assert [p.stat().st_mtime_ns for p in first.paths] == stamps
    again = extract_frames(counting_video, tmp_path, every=2, overwrite=True)
    assert len(again.indices) == 10
    # another prefix in the same folder is not an "earlier run"
    assert extract_frames(counting_video, tmp_path, every=10, prefix="other").indices == [0, 10]
    # clips named in another script keep their names: not both "frame_f*"
    for name in ("клип.mp4", "видео.mp4"):
        (tmp_path / name).symlink_to(counting_video)
        got = extract_frames(tmp_path / name, tmp_path / "cyr", every=10)
        assert [p.name for p in got.paths] == [f"{Path(name).stem}_f000000.png",
                                              f"{Path(name).stem}_f000010.png"]  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"every": 0}, "--every must be >= 1"),
        ({"start": -1}, "--start must be"),
        ({"start": 5, "stop": 5}, "--stop .* must be greater"),
        ({"image_format": "bmp"}, "not supported"),
    ],
)
def test_bad_arguments_are_refused_before_reading(
    counting_video: Path, tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        extract_frames(counting_video, tmp_path / "out", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_missing_or_undecodable_video_is_a_capture_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="missing.mp4 does not exist"):
        extract_frames(tmp_path / "missing.mp4", tmp_path / "out")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    with pytest.raises(CaptureError, match="cannot open video file"):
        extract_frames(broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_out_must_be_a_folder(counting_video: Path, tmp_path: Path) -> None:
    target = tmp_path / "file.png"
    target.write_bytes(b"x")
    with pytest.raises(InvalidInputError, match="must be a folder"):
        extract_frames(counting_video, target)


def test_frame_file_name() -> None:
    assert frame_file_name("clip", 7) == "clip_f000007.png"
    assert frame_file_name("clip", 123456, "jpg") == "clip_f123456.jpg"


def test_force_replaces_the_earlier_frames_of_every_format(
    counting_video: Path, tmp_path: Path
) -> None:
    """--force kept the frames the new selection does not write, and a run in another
    --format wrote beside the earlier one's: two photos of one stem, which label refuses."""
    first = extract_frames(counting_video, tmp_path, every=2, image_format="jpg")
    (tmp_path / "count_final.png").write_bytes(b"not a frame")
    (tmp_path / "count_f2_f000000.png").write_bytes(b"another prefix's frame")
    with pytest.raises(InvalidInputError, match=r"count_f\*\.\{png,jpg\}.*--force"):
        extract_frames(counting_video, tmp_path, every=5)  # png, beside jpg frames
    assert all(p.exists() for p in first.paths)
    again = extract_frames(counting_video, tmp_path, every=5, overwrite=True)
    assert sorted(tmp_path.iterdir()) == sorted(
        [*again.paths, tmp_path / "count_final.png", tmp_path / "count_f2_f000000.png"]
    )
    assert [p.name for p in again.paths] == [f"count_f{i:06d}.png" for i in (0, 5, 10, 15)]


def test_force_keeps_the_earlier_frames_until_new_ones_exist(
    counting_video: Path, tmp_path: Path
) -> None:
    """Defect: --force deleted the earlier run's frames before reading a frame: a run whose
    --start lies past the end wrote 0 frames and left the folder empty."""
    first = extract_frames(counting_video, tmp_path, every=5)
    contents = [p.read_bytes() for p in first.paths]
    nothing = extract_frames(counting_video, tmp_path, start=5000, overwrite=True)
    assert nothing.paths == [] and nothing.earlier_kept == len(first.paths)
    assert [p.read_bytes() for p in first.paths] == contents  # all still there
    # a run that writes frames removes the rest, but only after writing
    again = extract_frames(counting_video, tmp_path, every=10, overwrite=True)
    assert sorted(tmp_path.iterdir()) == again.paths and again.earlier_kept == 0
