"""Frame sources with real decoding: the reference clip, images, missing devices, reconnects."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import pytest

from wds_edge.capture.grabber import ThreadedSource
from wds_edge.capture.sources import Frame, gstreamer_available, open_source
from wds_edge.errors import CaptureError, InvalidInputError


def _increasing(values: list, strictly: bool = True) -> bool:
    pairs = zip(values[:-1], values[1:], strict=True)
    return all((b > a) if strictly else (b >= a) for a, b in pairs)


def test_video_file_every_frame_once_in_order(video_path: Path) -> None:
    with open_source(video_path) as source:
        assert not source.is_live
        assert source.fps == pytest.approx(30.0) and source.size == (1280, 720)
        frames = [(f.index, f.timestamp_ms, f.capture_time_s, f.image_bgr.shape) for f in source]
        assert source.read() is None  # stays exhausted
    assert [f[0] for f in frames] == list(range(240))
    stamps = [f[1] for f in frames]
    assert _increasing(stamps)
    assert stamps[30] == pytest.approx(1000, abs=1)  # media position, 30 fps
    assert _increasing([f[2] for f in frames], strictly=False)
    assert {f[3] for f in frames} == {(720, 1280, 3)}


def test_realtime_file_drops_frames_for_a_slow_consumer(video_path: Path) -> None:
    source = open_source(video_path, realtime=True)
    try:
        assert source.is_live
        got: list[Frame] = []
        for _ in range(12):  # a consumer at ~10 fps on a 30 fps "camera"
            frame = source.read()
            assert frame is not None
            got.append(frame)
            time.sleep(0.1)
    finally:
        source.close()
    indices = [f.index for f in got]
    assert _increasing(indices), indices  # never repeated
    assert indices[-1] - indices[0] > 2 * (len(indices) - 1)  # frames were dropped
    assert source.dropped_frames > 0
    times = [f.capture_time_s for f in got]
    assert _increasing(times)
    stamps = [f.timestamp_ms for f in got]
    assert _increasing(stamps)
    assert stamps[-1] == pytest.approx(indices[-1] * 1000 / 30, abs=1)  # media time
    # close() joined the grabber thread; a second close is harmless; reading is an error.
    assert not source._thread.is_alive()
    source.close()
    with pytest.raises(CaptureError, match="close"):
        source.read()


def test_realtime_read_blocks_for_a_newer_frame(video_path: Path) -> None:
    with open_source(video_path, realtime=True) as source:
        first = source.read()
        second = source.read()  # asked at once: must wait for the next frame, not repeat
        assert first is not None and second is not None
        assert second.index > first.index
        assert second.capture_time_s > first.capture_time_s


@pytest.mark.parametrize("uri", [9, "9", "v4l2:///dev/video9"])
def test_missing_camera_fails_fast(uri: object) -> None:
    start = time.monotonic()
    with pytest.raises(CaptureError, match="cannot open"):
        open_source(uri)  # type: ignore[arg-type]
    assert time.monotonic() - start < 5.0


@pytest.mark.skipif(gstreamer_available(), reason="this OpenCV has GStreamer")
def test_csi_without_gstreamer_says_so() -> None:
    with pytest.raises(CaptureError, match="GStreamer"):
        open_source("csi://0")


def test_bad_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CaptureError, match="missing.mp4 does not exist"):
        open_source(tmp_path / "missing.mp4")
    with pytest.raises(CaptureError, match="not a camera index"):
        open_source("nonsense")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "face.jpg").write_bytes(b"")  # an empty source is not the working folder
    for empty in ("", "  "):
        with pytest.raises(CaptureError, match="the source is empty"):
            open_source(empty)
    (tmp_path / "notes.txt").write_text("not a video")
    with pytest.raises(CaptureError, match="cannot open video file"):
        open_source(tmp_path / "notes.txt")
    with pytest.raises(CaptureError, match="no images"):
        open_source(str(tmp_path / "*.png"))
    # a video name with glob characters is a video that does not exist, not an empty glob
    for name in ("kiosk [cam1].mp4", "recordings/*.mp4"):
        with pytest.raises(CaptureError, match="does not exist"):
            open_source(str(tmp_path / name))


def test_images_folder_and_glob(faces_dir: Path, tmp_path: Path) -> None:
    for name in ("biden2.jpg", "obama.jpg"):
        (tmp_path / name).symlink_to(faces_dir / name)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")  # skipped with a warning
    with open_source(tmp_path) as source:
        frames = list(source)
    assert [f.index for f in frames] == [0, 2]  # biden2, (broken skipped), obama
    assert frames[0].image_bgr.shape == (1200, 1200, 3)
    with open_source(str(tmp_path / "o*.jpg")) as source:
        assert [f.image_bgr.shape for f in source] == [(1137, 910, 3)]
    with open_source(faces_dir / "obama.jpg") as source:
        assert source.read() is not None and source.read() is None
    # entries named like images that are not files: a folder and a broken link
    (tmp_path / "sub.jpg").mkdir()
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    with open_source(tmp_path) as source:
        assert [f.image_bgr.shape[:2] for f in source] == [(1200, 1200), (1137, 910)]
    with open_source(str(tmp_path / "*.jpg")) as source:
        assert len(list(source)) == 2


def test_a_double_star_glob_reads_every_folder_level_as_analyze_does(
    faces_dir: Path, tmp_path: Path
) -> None:
    """Defect: `--source 'p/**/*.jpg'` skipped p/*.jpg (glob without recursive=True: ** was
    one folder level), while `wds-edge analyze 'p/**/*.jpg'` reads p/*.jpg too."""
    from wds_edge.analysis.batch import expand_inputs
    from wds_edge.capture.sources import image_paths

    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    for where in ("top.jpg", "sub/mid.jpg", "sub/deeper/low.jpg"):
        (tmp_path / where).symlink_to(faces_dir / "obama.jpg")
    pattern = str(tmp_path / "**" / "*.jpg")
    expected = sorted(tmp_path / w for w in ("top.jpg", "sub/mid.jpg", "sub/deeper/low.jpg"))
    assert image_paths(pattern) == expected
    assert [Path(p) for p in expand_inputs([pattern])] == expected
    with open_source(pattern) as source:
        assert len(list(source)) == 3


def test_grabber_reconnects_after_a_camera_drop(video_path: Path, tmp_path: Path) -> None:
    """A real VideoCapture that stops delivering (end of file), cannot be reopened for
    a while (its file is gone), then comes back: reads time out, then frames flow again."""
    link = tmp_path / "camera.mp4"
    link.symlink_to(video_path)
    source = ThreadedSource(
        "test-camera",
        lambda: cv2.VideoCapture(str(link)),
        read_timeout_s=0.5,
        max_read_failures=2,
        reconnect_backoff_s=(0.05, 0.2),
    )
    try:
        link.unlink()  # the open capture keeps decoding; reopening will fail
        before = source.read()
        assert before is not None
        with pytest.raises(CaptureError, match="no new frame"):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # drain the clip (~0.4 s of decoding)
                source.read()
        assert source.reconnects == 0
        link.symlink_to(video_path)  # the "camera" is plugged back in
        after = source.read()
        assert after is not None and source.reconnects >= 1
        assert after.index > before.index and after.capture_time_s > before.capture_time_s
        assert after.timestamp_ms > before.timestamp_ms
    finally:
        source.close()
    assert not source._thread.is_alive()


def test_realtime_file_ends_with_none(video_path: Path, tmp_path: Path) -> None:
    # A real 12-frame clip written with OpenCV's encoder (0.4 s at 30 fps).
    short = tmp_path / "short.mp4"
    with open_source(video_path) as source:
        frames = [source.read() for _ in range(12)]
    writer = cv2.VideoWriter(str(short), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (1280, 720))
    for frame in frames:
        assert frame is not None
        writer.write(frame.image_bgr)
    writer.release()
    with open_source(short, realtime=True) as source:
        got = []
        while (frame := source.read()) is not None:
            got.append(frame.index)
        assert source.read() is None
    assert 1 <= len(got) <= 12 and _increasing(got) and got[-1] == 11


def test_an_unknown_option_is_refused_with_the_likely_one(video_path: Path) -> None:
    """open_source(clip, realtme=True) used to open the clip as a plain file: the typo was
    silently ignored."""
    with pytest.raises(
        InvalidInputError, match="unknown option 'realtme' \\(did you mean 'realtime'"
    ):
        open_source(video_path, realtme=True)
    with pytest.raises(
        InvalidInputError, match="unknown option 'colour'; the options are realtime"
    ):
        open_source(9, colour=True)  # refused before any camera is tried


@pytest.mark.parametrize(
    ("uri", "opts", "message"),
    [
        (
            "clip",
            {"realtime": True, "read_timeout_s": "5"},
            "read_timeout_s='5' \\(str\\): must be a number of seconds > 0",
        ),
        ("clip", {"realtime": True, "read_timeout_s": 0}, "read_timeout_s=0 \\(int\\): must be"),
        ("clip", {"realtime": 1}, "realtime=1 \\(int\\): must be True or False"),
        ("clip", {"skip_unreadable": False}, "'skip_unreadable' does not apply to a video file"),
        (
            "faces",
            {"read_timeout_s": 1.0},
            "'read_timeout_s' does not apply to images .*take realtime, skip_unreadable",
        ),
        ("rtsp://kiosk.invalid/cam", {"mjpg": False}, "'mjpg' does not apply to a stream"),
        ("rtsp://kiosk.invalid/cam", {"open_timeout_s": float("nan")}, "open_timeout_s=nan"),
        (9, {"max_read_failures": 0}, "max_read_failures=0 \\(int\\): must be a whole number >= 1"),
        (9, {"reconnect_backoff_s": (2, 1)}, "reconnect_backoff_s=\\(2, 1\\).*first <= max"),
        (9, {"width": 1280}, "width and height go together"),
        (9, {"fps": "30"}, "fps='30' \\(str\\): must be frames per second"),
    ],
)
def test_an_option_of_the_wrong_kind_or_value_is_refused(
    video_path: Path, faces_dir: Path, uri: object, opts: dict, message: str
) -> None:
    """read_timeout_s="5" used to fail later in read() with a TypeError; an option of another
    kind of source was ignored. Both are refused when the source is opened, naming the option."""
    source = {"clip": str(video_path), "faces": str(faces_dir)}.get(uri, uri)  # type: ignore[call-overload]
    with pytest.raises(InvalidInputError, match=message):
        open_source(source, **opts)


def test_checked_options_are_used(video_path: Path) -> None:
    with open_source(video_path, realtime=True, read_timeout_s=2) as source:
        assert isinstance(source, ThreadedSource) and source.read() is not None
        assert source._read_timeout_s == 2.0 and type(source._read_timeout_s) is float
    with open_source(video_path, realtime=False, read_timeout_s=2) as source:
        assert not source.is_live  # read in order: the timeout of a realtime read is unused


@pytest.mark.parametrize("uri", [-1, 2**31, "99999999999999999999", 10**20, True])
def test_a_camera_index_out_of_range_is_refused(uri: object) -> None:
    """-1 crashed the process inside cv2.VideoCapture(-1, CAP_ANY); an index past a C int
    was a cv2.error traceback; True opened camera 1."""
    with pytest.raises(InvalidInputError, match=r"v4l2:///dev/videoN, csi://N"):
        open_source(uri)  # type: ignore[arg-type]


def test_the_largest_camera_index_is_tried() -> None:
    with pytest.raises(CaptureError, match="cannot open camera index '2147483647'"):
        open_source(2**31 - 1)


@pytest.mark.parametrize("uri", ["csi://cam0", "csi://-1", "csi://0x1", "csi://99999999999"])
def test_a_csi_sensor_id_that_is_not_a_number_is_refused(uri: str) -> None:
    """csi://cam0 was a ValueError from int(); the id is checked before GStreamer is."""
    with pytest.raises(InvalidInputError, match=r"csi://|out of range"):
        open_source(uri)


def test_realtime_with_threaded_false_is_refused(video_path: Path) -> None:
    """realtime=True played the file on a background grabber whatever threaded said."""
    before = {t for t in threading.enumerate() if t.name.startswith("grab:")}
    with pytest.raises(InvalidInputError, match="realtime=True, threaded=False"):
        open_source(video_path, realtime=True, threaded=False)
    assert {t for t in threading.enumerate() if t.name.startswith("grab:")} == before
    with open_source(video_path, threaded=False) as source:  # in order, on this thread
        assert not source.is_live and source.read() is not None


def test_demo_with_a_camera_index_out_of_range_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, onnx_model_path: Path, landmarker_path: Path
) -> None:
    from fault_helpers import run_cli

    code, _, err = run_cli(capsys, "demo", "--headless", "--source", "99999999999999999999",
                           "--jsonl", tmp_path / "frames.jsonl", "--model", onnx_model_path,
                           "--landmarker", landmarker_path, "--backend", "onnxruntime")  # fmt: skip
    assert code == 2 and "camera index 99999999999999999999 is out of range" in err, err
    assert "cv2.error" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("uri", "opts", "named"),
    [
        (9, {"read_timeout_s": 1.0}, "read_timeout_s is an option"),
        (
            "rtsp://127.0.0.1:1/cam",
            {"max_read_failures": 1, "reconnect_backoff_s": (5.0, 9.0), "open_timeout_s": 1.0},
            "max_read_failures, reconnect_backoff_s are options",
        ),
    ],
)
def test_grabber_options_with_threaded_false_are_refused(
    uri: object, opts: dict, named: str
) -> None:
    """They were accepted and did nothing: the caller's thread reads the device itself."""
    with pytest.raises(InvalidInputError, match=f"threaded=False\\): {named} of the background"):
        open_source(uri, threaded=False, **opts)  # type: ignore[arg-type]
    with pytest.raises(CaptureError, match="cannot open"):  # without them: opened (none here)
        open_source(uri, threaded=False)  # type: ignore[arg-type]
