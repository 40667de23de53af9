"""kiosk_loop.py: the kiosk video played as a camera through KioskSession."""

from __future__ import annotations

import json
from pathlib import Path


def test_kiosk_loop_on_the_video(
    example_runner,
    example_model: Path,
    example_env: dict,
    video_path: Path,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    out = tmp_path / "final"
    proc = example_runner(
        "kiosk_loop.py",
        [
            "--source",
            str(video_path),
            "--model",
            str(example_model),
            "--frames-needed",
            "3",
            "--frames-fused",
            "3",
            "--max-frames",
            "20",
            "--every",
            "5",
            "--out",
            str(out),
        ],
        example_env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # The clip's face smiles all along: the person is asked to stop, no neutral frame comes
    # within the 20 frames, and the 3 least expressive are fused with a warning.
    assert "prompt: please don't smile" in proc.stdout and "prompt: done" in proc.stdout
    final = json.loads((out / "result.json").read_text())
    assert final["complete"] and final["frames_used"] == 3 and final["frames_seen"] == 20
    assert final["status"] == "ok" and final["warnings"] == ["not_neutral"]
    assert final["frame"]["status"] == "ok" and "overall" in final["scores"]
    assert (out / "result_overlay.png").stat().st_size > 1000


def test_kiosk_loop_gives_up_without_a_face(
    example_runner,
    example_model: Path,
    example_env: dict,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    import cv2
    import numpy as np

    frames = tmp_path / "empty"
    frames.mkdir()
    for i in range(4):
        cv2.imwrite(str(frames / f"{i}.png"), np.full((240, 320, 3), 60 * i, np.uint8))
    proc = example_runner(
        "kiosk_loop.py", ["--source", str(frames), "--model", str(example_model)], example_env
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert '"complete": false' in proc.stdout and '"frames_used": 0' in proc.stdout
