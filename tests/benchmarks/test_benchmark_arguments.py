"""Bad arguments to the benchmarks: one line and exit 2 (or the reason a service did not
start), not a traceback from the middle of the run."""

from __future__ import annotations

from pathlib import Path

import pytest
from repo_scripts import REPO, load_script


def _exit_2(script, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:  # noqa: ANN001
    with pytest.raises(SystemExit) as exc:
        script.main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


def test_decode_paths(faces_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script("benchmarks/decode_paths.py")
    photo = str(faces_dir / "biden2.jpg")
    assert "--runs must be >= 1, got 0" in _exit_2(script, [photo, "--runs", "0"], capsys)
    missing = str(tmp_path / "none.jpg")
    assert f"{missing}: no such file" in _exit_2(script, [missing], capsys)


def test_stage_cpu_frames(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))  # _clip_bench, as when run
    script = load_script("benchmarks/stage_cpu.py")
    err = _exit_2(script, ["--frames", "0"], capsys)
    assert "--frames: expected a whole number >= 1, got 0" in err


def test_stage_cpu_video_missing_or_without_a_face(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, landmarker_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A missing --video ended in a CaptureError traceback, a clip with no face in a
    StatisticsError one (no stage had a time to summarize)."""
    import cv2
    import numpy as np

    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    script = load_script("benchmarks/stage_cpu.py")
    missing = tmp_path / "none.mp4"
    err = _exit_2(script, ["--video", str(missing)], capsys)
    assert f"--video {missing}: no such file" in err and "Traceback" not in err
    black = tmp_path / "black.mp4"
    writer = cv2.VideoWriter(str(black), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (320, 240))
    for _ in range(3):
        writer.write(np.zeros((240, 320, 3), np.uint8))
    writer.release()
    err = _exit_2(script, ["--video", str(black), "--landmarker", str(landmarker_path),
                           "--frames", "2"], capsys)  # fmt: skip
    assert f"--video {black}: no frame with a usable face, nothing to time" in err
    err = _exit_2(script, ["--video", str(black), "--landmarker", str(tmp_path / "gone.task")],
                  capsys)  # fmt: skip
    assert "gone.task" in err and "Traceback" not in err


def test_service_load_says_why_the_service_did_not_start(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    script = load_script("benchmarks/service_load.py")
    missing = tmp_path / "missing.onnx"
    with pytest.raises(SystemExit) as exc:
        script.main(["--photo", str(faces_dir / "biden2.jpg"), "--model", str(missing),
                     "--landmarker", str(landmarker_path), "--sequential", "1"])  # fmt: skip
    message = str(exc.value.code)
    assert "the service did not start" in message and "the end of its stderr" in message
    assert str(missing) in message  # the service's own reason, not just ''
