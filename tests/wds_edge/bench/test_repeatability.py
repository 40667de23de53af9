"""`wds-edge bench repeatability` on a short clip written from real frames of the kiosk clip:
sessions, per-region spread recomputed here by hand from the sessions' fused scores, JSON and
plot files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.perception.regions import REGION_NAMES


def _clip(video_path: Path, out: Path, frames: int) -> Path:
    cap = cv2.VideoCapture(str(video_path))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (1280, 720))
    for _ in range(frames):
        ok, frame = cap.read()
        assert ok
        writer.write(frame)
    writer.release()
    cap.release()
    return out


def test_repeatability_report(video_path: Path, landmarker_path: Path, tmp_path: Path) -> None:
    """With the bundled model (it marks lines on this face; the untrained test model's
    scores are all 0, which would make the spreads vacuous)."""
    clip = _clip(video_path, tmp_path / "still.mp4", 16)
    out = tmp_path / "rep"
    args = ["bench", "repeatability", "--source", str(clip), "--sessions", "2",
            "--landmarker", str(landmarker_path),
            "--threads", "1", "--frames-needed", "4", "--frames-fused", "3",
            "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "repeatability" in result.stdout and "running fused score" in result.stdout
    report = json.loads((out / "repeatability.json").read_text())
    assert (out / "repeatability.png").stat().st_size > 1000
    assert report["frames"] == {"total": 16, "usable": 16, "good": 16}
    assert [s["frames"] for s in report["sessions"]] == [[0, 7], [8, 15]]
    assert all(s["frames_used"] == 3 for s in report["sessions"])
    # what each capture ran with: its part's 8 frames, never dropping them (one person)
    for session in report["sessions"]:
        config = session["session_config"]
        assert (config["max_frames"], config["reset_after_bad_frames"]) == (8, 0)
        assert (config["frames_needed"], config["frames_fused"]) == (4, 3)
    shared = report["session_config"]
    assert shared["reset_after_bad_frames"] == 0 and "max_frames" not in shared
    assert (shared["frames_needed"], shared["frames_fused"]) == (4, 3)
    assert set(report["regions"]) == {"overall", *REGION_NAMES}
    assert report["regions"]["overall"]["session_mean"] > 0
    assert report["regions"]["overall"]["frame_cv"] > 0
    for name, stats in report["regions"].items():
        fused = [s["fused"][name] for s in report["sessions"]]
        mean = np.mean(fused)
        if mean > 0:
            assert stats["session_spread"] == np.float64((max(fused) - min(fused)) / mean)
            assert stats["session_cv"] == np.std(fused, ddof=1) / mean
        legacy = [s["legacy_median5"][name] for s in report["sessions"]]
        if np.mean(legacy) > 0:
            assert stats["legacy_spread"] == (max(legacy) - min(legacy)) / np.mean(legacy)
    assert report["running"]["frames"] == 16 and report["running"]["window"] == 12
    # 16 good frames of a 30 FPS clip hold no one-second stretch: said, not "at most 0.0 %"
    assert report["running"]["max_window_cv"] is None
    assert report["running"]["median_window_cv"] is None
    assert "n/a (fewer good frames than one second)" in " ".join(result.stdout.split())
    assert "over any second" not in result.stdout
    assert report["model"]["backend"] == "onnxruntime" and "environment" in report
    assert report["environment"]["cpu"]["model"] and report["load_average"]["usable_cores"] >= 1
    assert "load average" in result.stdout


def test_one_session_is_refused(video_path: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "repeatability", "--source", str(video_path),
                                      "--sessions", "1", "--out", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 2


def test_a_camera_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    """A camera never ends (the clip is read to its end twice): the bench asks for a recording."""
    from wds_edge.bench.repeatability import bench_repeatability
    from wds_edge.errors import InvalidInputError

    for source in ("0", "rtsp://kiosk.local/stream"):
        with pytest.raises(InvalidInputError, match="camera or stream.*--record clip.mp4"):
            bench_repeatability(None, source)  # type: ignore[arg-type]


def test_sessions_shorter_than_the_fused_frames_are_refused(
    video_path: Path, landmarker_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """16 frames in 2 sessions leave 8 per session, fewer than the 10 each fuses by default:
    the bench says so rather than a session-setting error about max_frames nobody set."""
    from fault_helpers import run_cli

    clip = _clip(video_path, tmp_path / "short.mp4", 16)
    code, _, err = run_cli(capsys, "bench", "repeatability", "--source", clip, "--sessions", 2,
                           "--landmarker", landmarker_path, "--threads", 1,
                           "--out", tmp_path / "rep")  # fmt: skip
    assert code == 2, err
    assert "leave a session only 8 frames, fewer than the 10 it fuses" in " ".join(err.split())
    assert not (tmp_path / "rep").exists()  # refused before --out was made


def test_running_window_figures_are_none_without_a_one_second_stretch() -> None:
    """No one-second window fits in fewer good frames than the clip's frame rate: the largest
    and median window CVs were 0.0, which reads as a perfectly steady score."""
    from wds_edge.bench.repeatability import _running_stats

    short = _running_stats([0.05, 0.06, 0.04, 0.05], fps=30.0)
    assert short["max_window_cv"] is None and short["median_window_cv"] is None
    assert short["cv"] > 0 and short["frames"] == 4.0
    assert _running_stats([0.05], fps=30.0)["max_window_cv"] is None
    # a stretch that fits: 4 frames at 2 FPS, windows [1, 3] and [3, 1] (mean 2, sd sqrt 2)
    fits = _running_stats([1.0, 3.0, 1.0, 3.0], fps=2.0)
    assert fits["max_window_cv"] == pytest.approx(np.sqrt(2) / 2)
    assert fits["median_window_cv"] == pytest.approx(np.sqrt(2) / 2)
