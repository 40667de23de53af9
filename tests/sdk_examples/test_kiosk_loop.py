"""kiosk_loop.py: the kiosk video played as a camera through KioskSession."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

RunKioskLoop = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def kiosk_loop(example_runner, example_model: Path, example_env: dict) -> RunKioskLoop:  # noqa: ANN001
    """``kiosk_loop(*args, env=None)``: sdk_examples/kiosk_loop.py run on the test model with
    ``args`` (``--source`` among them) in ``env`` (default: the examples' environment)."""

    def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        argv = ["--model", str(example_model), *args]
        return example_runner("kiosk_loop.py", argv, example_env if env is None else env)

    return run


def test_kiosk_loop_on_the_video(
    kiosk_loop: RunKioskLoop, video_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "final"
    proc = kiosk_loop(
        "--source", str(video_path), "--frames-needed", "3", "--frames-fused", "3",
        "--max-frames", "20", "--every", "5", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    # The clip's face smiles all along: the person is asked to stop, no neutral frame comes
    # within the 20 frames, and the 3 least expressive are fused with a warning.
    assert "prompt: please don't smile" in proc.stdout and "prompt: done" in proc.stdout
    final = json.loads((out / "result.json").read_text())
    assert final["complete"] and final["frames_used"] == 3 and final["frames_seen"] == 20
    assert final["status"] == "ok" and final["warnings"] == ["not_neutral"]
    assert final["frame"]["status"] == "ok" and "overall" in final["scores"]
    assert (out / "result_overlay.png").stat().st_size > 1000


def test_kiosk_loop_gives_up_without_a_face(kiosk_loop: RunKioskLoop, tmp_path: Path) -> None:
    import cv2
    import numpy as np

    frames = tmp_path / "empty"
    frames.mkdir()
    for i in range(4):
        cv2.imwrite(str(frames / f"{i}.png"), np.full((240, 320, 3), 60 * i, np.uint8))
    proc = kiosk_loop("--source", str(frames))
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert '"complete": false' in proc.stdout and '"frames_used": 0' in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--every", "0"], "argument --every: expected a whole number >= 1, got 0"),
        (["--frames-needed", "0"], "argument --frames-needed: expected a whole number >= 1, got 0"),
        (["--max-frames", "-3"], "argument --max-frames: expected a whole number >= 1, got -3"),
        (
            ["--source", "/nonexist.mp4"],
            "error: no such file or folder: /nonexist.mp4 (expected a video file, an image, ",
        ),
        (
            ["--frames-needed", "3"],
            "error: invalid session settings: frames_fused (10) must not be above "
            "frames_needed (3)",
        ),
    ],
    ids=["every-0", "frames-needed-0", "max-frames-negative", "missing-source", "never-complete"],
)
def test_kiosk_loop_bad_input_is_one_line_and_exit_2(
    kiosk_loop: RunKioskLoop, video_path: Path, args: list[str], message: str
) -> None:
    """Bad options are refused by argparse before anything loads (--every 0 used to divide by
    zero on the first frame, --frames-needed 0 to end in a pydantic traceback, --frames-needed 3
    with the default 10 frames fused to a session that could never be complete); a source that
    does not exist is the library's one-line message, not its traceback."""
    proc = kiosk_loop("--source", str(video_path), *args)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert message in last, proc.stderr[-2000:]
    assert "prompt:" not in proc.stdout  # no session was run


@pytest.mark.parametrize("bad", ["source", "model"])
def test_kiosk_loop_refused_input_leaves_no_out_folder(
    kiosk_loop: RunKioskLoop, example_env: dict, video_path: Path, tmp_path: Path, bad: str
) -> None:
    """A missing --source (or --model) with --out: exit 2 in one line, and --out is not left
    behind as an empty folder (it was made before the source and the model were opened)."""
    out = tmp_path / "final" / "inner"
    source = tmp_path / "nonexist.mp4" if bad == "source" else video_path
    args = ["--source", str(source), "--frames-needed", "3", "--frames-fused", "3"]
    if bad == "model":  # the last --model wins over the fixture's
        args += ["--model", str(tmp_path / "missing.onnx")]
    proc = kiosk_loop(*args, "--out", str(out))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "prompt:" not in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    expected = "no such file or folder: " if bad == "source" else "missing.onnx"
    assert last.startswith("error: ") and expected in last, proc.stderr[-2000:]
    assert not (tmp_path / "final").exists()


def test_kiosk_loop_an_unwritable_out_is_refused_before_the_session(
    kiosk_loop: RunKioskLoop, video_path: Path, tmp_path: Path
) -> None:
    blocked = tmp_path / "file.txt"
    blocked.write_text("a file, not a folder")
    proc = kiosk_loop(
        "--source", str(video_path), "--frames-needed", "3", "--frames-fused", "3",
        "--out", str(blocked),
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot write the final result to {blocked}: it is a file")
    assert "prompt:" not in proc.stdout  # refused before the session, not after it


def test_kiosk_loop_show_without_a_display_is_one_line_and_exit_2(
    kiosk_loop: RunKioskLoop, example_env: dict, video_path: Path, tmp_path: Path
) -> None:
    """--show where no window can open: one error line and exit 2 before the model loads;
    it used to load the model, run the session and abort in Qt at the first imshow
    (a core dump, exit 134). The advice is this example's (not the demo's --headless /
    --record / `xvfb-run wds-edge demo`), and --out is not created for a refused run."""
    env = {k: v for k, v in example_env.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}  # fmt: skip
    out = tmp_path / "final"
    proc = kiosk_loop(
        "--source", str(video_path), "--show", "--frames-needed", "3", "--frames-fused", "3",
        "--max-frames", "5", "--out", str(out), env=env,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --show: ")
    assert "so no window can open; " in lines[0]
    assert "prompt:" not in proc.stdout
    assert "--headless" not in lines[0] and "--record" not in lines[0]
    assert "wds-edge demo" not in lines[0]
    assert "leave out --show, or " in lines[0]
    if "no display" in lines[0]:
        assert lines[0].endswith("xvfb-run python sdk_examples/kiosk_loop.py --show ...")
    assert not out.exists()


def test_kiosk_loop_exits_0_for_a_result_that_fused_fewer_frames_than_asked(
    kiosk_loop: RunKioskLoop, faces_dir: Path, tmp_path: Path
) -> None:
    """Defect: a capture with a result (status ok) that fused fewer than --frames-fused
    frames was saved and then exited 1, the code of a session without a result."""
    import cv2
    import numpy as np

    face = cv2.imread(str(faces_dir / "ffhq_00016.png"))
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "0.png"), face)  # one good frame, then nobody
    for i in range(1, 4):
        cv2.imwrite(str(frames / f"{i}.png"), np.full_like(face, 90))
    out = tmp_path / "final"
    proc = kiosk_loop(
        "--source", str(frames), "--frames-needed", "3", "--frames-fused", "3",
        "--max-frames", "4", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    final = json.loads((out / "result.json").read_text())
    assert final["status"] == "ok" and final["frames_used"] == 1 and not final["complete"]
