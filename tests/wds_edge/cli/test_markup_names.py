"""File and folder names with brackets ("scan[/x].jpg", "fr [cam1]") print as written: rich
markup in them was parsed, dropping "[cam1]" as a style tag or crashing on "[/x]"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fault_helpers import mjpg_avi, run_cli

from wds_edge.cli.console import plain

FIXTURE_ONNX = Path(__file__).resolve().parents[2] / "fixtures" / "wds_b4_128_dyn.onnx"


def test_plain_keeps_brackets() -> None:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(f"[red]x[/] {plain('scan[/x].jpg')} {plain('fr [cam1]')}")
    assert console.export_text().strip() == "x scan[/x].jpg fr [cam1]"


def test_analyze_table_shows_bracketed_names(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Defect: `analyze "mk2/scan[/x].jpg"` ended in a MarkupError traceback, and a name with
    "[cam1]" lost it in the table."""
    monkeypatch.chdir(tmp_path)
    Path("scan[").mkdir()
    Path("scan[/x].jpg").write_bytes(b"")  # unreadable: an error row with its message
    shutil.copy(faces_dir / "biden2.jpg", "p[cam1].jpg")
    code, stdout, err = run_cli(
        capsys, "analyze", "scan[/x].jpg", "p[cam1].jpg", "--out", "r", "--model", FIXTURE_ONNX,
        "--backend", "onnxruntime", "--landmarker", landmarker_path, "--threads", "1",
    )  # fmt: skip
    assert code == 1, err
    assert "MarkupError" not in err
    text = "".join(stdout.split())  # the table folds long cells over lines
    assert "scan[/x].jpg" in text and "p[cam1].jpg" in text


def test_frames_summary_shows_a_bracketed_folder(
    capsys: pytest.CaptureFixture[str], video_path: Path, tmp_path: Path
) -> None:
    clip = mjpg_avi(video_path, tmp_path / "clip.avi", frames=10)
    out = tmp_path / "fr [cam1]"
    code, stdout, err = run_cli(capsys, "frames", clip, "--out", out, "--every", "5")
    assert code == 0, err
    assert f"read to {out}" in stdout
