"""`wds-edge bench repeatability`: inputs refused with exit 2 before --out is made, and a run
that fails later leaves no empty --out behind."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from fault_helpers import run_cli


def _short_clip(video_path: Path, out: Path, frames: int) -> Path:
    """The first ``frames`` frames of the kiosk clip as an MP4 (its container counts them)."""
    cap = cv2.VideoCapture(str(video_path))
    ok, frame = cap.read()
    assert ok
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 30.0,
                             (frame.shape[1], frame.shape[0]))  # fmt: skip
    for _ in range(frames):
        writer.write(frame)
        ok, frame = cap.read()
        assert ok
    writer.release()
    cap.release()
    return out


_SMALL = ("--sessions", "2", "--frames-needed", "3", "--frames-fused", "3")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--source", "{tmp}/nonexist.mp4"), "no such file or folder: {tmp}/nonexist.mp4"),
        (("--source", "0"), "0 is a camera or stream, which never ends"),
        (("--source", "{clip}", *_SMALL, "--model", "{tmp}/gone.onnx"),
         "{tmp}/gone.onnx: no such model file"),
        (("--source", "{clip}", "--frames-needed", "5", "--frames-fused", "8"),
         "frames_fused (8) must not be above frames_needed (5)"),
        (("--source", "{clip}", "--sessions", "7", "--frames-fused", "1"),
         "6 frames cannot make 7 sessions"),
        (("--source", "{clip}", "--sessions", "2", "--frames-needed", "4", "--frames-fused", "4"),
         "6 frames in 2 sessions leave a session only 3 frames, fewer than the 4 it fuses"),
    ],
)  # fmt: skip
def test_bad_inputs_are_refused_before_out_is_made(
    args: tuple[str, ...],
    expected: str,
    video_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A missing source was exit 1 ("video file ... does not exist"), and that, a bad
    --model, bad --frames-* settings, a camera or a clip too short for --sessions all left
    an empty --out behind: each is refused first, before a landmarker is even looked for."""
    monkeypatch.setenv("WDS_EDGE_FACE_LANDMARKER", str(tmp_path / "no_landmarker.task"))
    clip = _short_clip(video_path, tmp_path / "short.mp4", 6)
    out = tmp_path / "rep"
    code, _, err = run_cli(capsys, "bench", "repeatability",
                           *[a.format(tmp=tmp_path, clip=clip) for a in args],
                           "--out", out)  # fmt: skip
    assert code == 2, err
    assert expected.format(tmp=tmp_path) in err and "Traceback" not in err
    assert "landmarker" not in err
    assert not out.exists()


def test_a_run_that_fails_after_the_checks_leaves_no_empty_out(
    video_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What only loading finds (here a missing --landmarker) still fails, but the --out it
    made for the report is removed again."""
    clip = _short_clip(video_path, tmp_path / "short.mp4", 6)
    out = tmp_path / "reports" / "rep"
    code, _, err = run_cli(capsys, "bench", "repeatability", "--source", clip, "--sessions", 2,
                           "--frames-needed", 3, "--frames-fused", 3, "--landmarker",
                           tmp_path / "gone.task", "--out", out)  # fmt: skip
    assert code == 2, err
    assert "gone.task" in err
    assert not (tmp_path / "reports").exists()


def test_a_file_url_source_is_the_clip_it_names(
    video_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Defect: a ``file://`` URL passed the source checks (a local file) and was then opened
    as Path(url), ``file:/...``: "video file file:/... does not exist", exit 1. It is read
    as the clip it names, so it gets the plain path's answer (here: too short, exit 2)."""
    monkeypatch.setenv("WDS_EDGE_FACE_LANDMARKER", str(tmp_path / "no_landmarker.task"))
    clip = _short_clip(video_path, tmp_path / "short clip.mp4", 6)
    for source in (clip, clip.as_uri()):
        out = tmp_path / "rep"
        code, _, err = run_cli(capsys, "bench", "repeatability", "--source", source,
                               "--sessions", "7", "--frames-fused", "1", "--out", out)  # fmt: skip
        assert code == 2, err
        assert "6 frames cannot make 7 sessions" in err and "does not exist" not in err
        assert not out.exists()
