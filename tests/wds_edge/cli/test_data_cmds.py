"""`wds-edge frames`: a kiosk recording -> training photos, through the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fault_helpers import mjpg_avi, run_cli, truncated_avi
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.io import read_image


def test_frames_command_writes_every_nth_frame(video_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "photos"
    args = ["frames", str(video_path), "--out", str(out), "--every", "5", "--start", "3",
            "--stop", "14", "--format", "jpg"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"portrait_motion_720p_f{i:06d}.jpg" for i in (3, 8, 13)]
    assert read_image(out / names[0]).shape == (720, 1280, 3)
    assert "wrote 3 frames (1280x720) of 14 read" in result.output  # frames 0..13


def test_frames_command_errors_are_one_line_and_exit_2(video_path: Path, tmp_path: Path) -> None:
    # through the console-script entry point, which turns WdsEdgeError into exit code 2
    run = subprocess.run(
        [sys.executable, "-m", "wds_edge.cli", "frames", str(video_path), "--out",
         str(tmp_path), "--every", "0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "--every must be >= 1" in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_frames_of_a_truncated_video_exit_1_and_keep_what_was_written(
    capsys, video_path: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    cut = truncated_avi(video_path, tmp_path / "cut.avi", frames=40)
    out = tmp_path / "photos"
    code, stdout, err = run_cli(capsys, "frames", cut, "--out", out, "--every", "5")
    assert code == 1, err
    assert "the video ended early" in err and "of 40 frames decoded" in err, err
    names = sorted(p.name for p in out.iterdir())  # the frames before the cut stay
    assert names and names[0] == "cut_f000000.png" and f"wrote {len(names)} frames" in stdout
    assert all(read_image(out / name).shape == (180, 320, 3) for name in names)


def test_frames_help_explains_the_workflow() -> None:
    result = CliRunner().invoke(app, ["frames", "--help"])
    assert result.exit_code == 0
    assert "wds-edge label --images" in result.output and "--every" in result.output


def test_frames_force_that_writes_nothing_keeps_the_earlier_frames(
    capsys, video_path: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    """Defect: `frames --force --start 5000` removed the earlier run's frames, then wrote 0
    frames: exit 1 and an empty folder."""
    clip = mjpg_avi(video_path, tmp_path / "clip.avi", frames=40)
    out = tmp_path / "fr"
    code, _, err = run_cli(capsys, "frames", clip, "--out", out, "--every", "20")
    assert code == 0, err
    earlier = sorted(p.name for p in out.iterdir())
    assert earlier == ["clip_f000000.png", "clip_f000020.png"]
    code, stdout, err = run_cli(capsys, "frames", clip, "--out", out, "--force", "--start", "5000")
    assert code == 1 and "wrote 0 frames" in stdout, err
    assert "kept the 2 frame(s) of the earlier run" in err
    assert sorted(p.name for p in out.iterdir()) == earlier
