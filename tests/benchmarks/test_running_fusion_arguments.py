"""benchmarks/running_fusion.py on bad input: one line and exit 2, as stage_cpu.py does (a
clip with no face ended in "cannot summarize zero latency samples", a missing file in a
CaptureError traceback, --frames 1 in nan columns and RuntimeWarnings)."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from repo_scripts import REPO, load_script


def _exit_2(script, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:  # noqa: ANN001
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(SystemExit) as exc:
            script.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_running_fusion_refuses_bad_input_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, landmarker_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))  # _clip_bench, as when run
    script = load_script("benchmarks/running_fusion.py")
    black = tmp_path / "black.mp4"
    writer = cv2.VideoWriter(str(black), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (320, 240))
    for _ in range(3):
        writer.write(np.zeros((240, 320, 3), np.uint8))
    writer.release()
    land = ["--landmarker", str(landmarker_path)]
    err = _exit_2(script, ["--video", str(black), *land, "--frames", "1"], capsys)
    assert "--frames must be >= 2" in err
    missing = tmp_path / "none.mp4"
    err = _exit_2(script, ["--video", str(missing), *land], capsys)
    assert f"--video {missing}: no such file" in err
    err = _exit_2(script, ["--video", str(black), *land, "--frames", "2"], capsys)
    assert f"--video {black}: 0 frames with a usable face" in err
    err = _exit_2(script, ["--video", str(black), "--landmarker", str(tmp_path / "gone.task")],
                  capsys)  # fmt: skip
    assert "gone.task" in err
