"""``--record`` plays in real time: with a source that drops frames (a camera, a stream, a
file played with ``--realtime``) each shown frame is repeated until the next one's capture
time, so the file's frame count / fps is the time the run covered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from wds_edge.demo.outputs import DemoRecorder, count_video_frames

REPO = Path(__file__).resolve().parents[3]


def _video_fps(path: Path) -> float:
    cap = cv2.VideoCapture(str(path))
    try:
        return float(cap.get(cv2.CAP_PROP_FPS))
    finally:
        cap.release()


def _decoded_grey_levels(path: Path) -> list[int]:
    """The mean grey level of every frame OpenCV decodes back (one level per test frame)."""
    cap = cv2.VideoCapture(str(path))
    levels = []
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                return levels
            levels.append(round(float(image.mean()) / 10.0) * 10)
    finally:
        cap.release()


def test_a_timed_recording_repeats_the_shown_frame_over_gaps(tmp_path: Path) -> None:
    video = tmp_path / "timed.avi"  # MJPG: the grey levels decode back exactly enough
    recorder = DemoRecorder(video, None, fps=10.0, timed=True, max_gap_s=2.0)
    frames = {  # capture time (s) -> grey level of the frame shown from then on
        100.0: 40,
        100.1: 80,  # the next slot: no gap
        100.42: 120,  # 0.32 s after: 2 slots repeat the 80 frame
        100.44: 160,  # the same slot as the 120 frame: left out of the video
        110.5: 200,  # 10 s after: the gap is cut to 2 s (20 slots of the 160 frame)
        110.7: 240,  # the timeline moved with the cut: 1 slot repeats the 200 frame
    }
    for t, level in frames.items():
        recorder.write(np.full((48, 64, 3), level, np.uint8), {}, capture_time_s=t)
    recorder.close()
    expected = [40, 80, 80, 80, 120] + [160] * 20 + [200, 200, 240]
    assert _decoded_grey_levels(video) == expected
    assert _video_fps(video) == 10.0
    assert recorder.frames == 6 and recorder.video_frames == len(expected)
    assert (recorder.repeated, recorder.left_out, recorder.gaps_cut) == (23, 1, 1)


def test_an_untimed_recording_writes_each_frame_once(tmp_path: Path) -> None:
    video = tmp_path / "every.avi"
    recorder = DemoRecorder(video, None, fps=10.0)
    for t, level in ((0.0, 40), (5.0, 120), (5.01, 200)):  # times are ignored
        recorder.write(np.full((48, 64, 3), level, np.uint8), {}, capture_time_s=t)
    recorder.close()
    assert _decoded_grey_levels(video) == [40, 120, 200]


def test_realtime_demo_recording_plays_in_real_time(
    tmp_path: Path, video_path: Path, landmarker_path: Path, onnx_model_fixed_batch: Path
) -> None:
    """The headless demo on the clip in real time (the loop is slower than 30 FPS here, so
    frames are dropped): the recording's duration at its fps is the time its frames cover."""
    video, jsonl, summary = tmp_path / "rt.mp4", tmp_path / "rt.jsonl", tmp_path / "s.json"
    proc = subprocess.run(
        [
            sys.executable, "-m", "wds_edge.cli", "demo", "--source", str(video_path),
            "--model", str(onnx_model_fixed_batch), "--landmarker", str(landmarker_path),
            "--backend", "onnxruntime", "--headless", "--realtime", "--max-frames", "40",
            "--record", str(video), "--jsonl", str(jsonl), "--summary-json", str(summary),
        ],
        capture_output=True, text=True, timeout=180, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(records) == 40
    fps = _video_fps(video)
    assert fps == 30.0  # the clip's
    # the first frame's capture to the last one's, plus the last frame's own slot
    covered_s = records[-1]["capture_time_s"] - records[0]["capture_time_s"] + 1.0 / fps
    written = count_video_frames(video)
    assert abs(written / fps - covered_s) <= 2.0 / fps, (written, covered_s)
    data = json.loads(summary.read_text())
    assert data["recording"]["timed"] and data["recording"]["video_frames"] == written
    assert data["recording"]["repeated"] == written - 40 + data["recording"]["left_out"]
