"""The kiosk's bad-input and fault matrix (issue 13), part 1: bad images and arrays. One row per
case, each built from real files at test time, each asserting the exit code, the message, and
that nothing was lost or half-written.

Commands run in-process through :func:`wds_edge.cli.main` (the console-script entry
point, with its error handler and exit-code policy: 0 done, 1 an input failed, 2 usage).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from fault_helpers import exif_rotated_jpeg, leftovers, png_bomb

from wds_edge.io import read_image


@pytest.fixture(scope="module")
def portrait_bgr(faces_dir: Path) -> np.ndarray:
    """biden2.jpg cropped to a portrait (non-square), so a wrong rotation changes the shape."""
    image = read_image(faces_dir / "biden2.jpg")
    return np.ascontiguousarray(image[:, 150:-150])


# -- 1. one `analyze` batch holding every bad image: each file gets its own outcome ------


BATCH_ROWS: list[tuple[str, str, Callable[[dict], bool]]] = [
    # (file, what the JSON line must say, check)
    ("a_grey.png", "grey photo: asks for a colour camera, not 'ok'",
     lambda d: d["status"] == "needs_colour_camera" and d["colour"] == "grey"),
    ("b_bomb_40000x30000.png", "PNG bomb refused from its header",
     lambda d: d["status"] == "error" and "40000x30000 pixels is more than" in d["error"]),
    ("c_big_20000x15000.png", "oversized PNG refused from its header",
     lambda d: d["status"] == "error" and "20000x15000" in d["error"]),
    ("d_trailer.jpg", "JPEG with bytes after the end marker is analysed",
     lambda d: d["status"] == "ok" and d["colour"] == "colour"),
    ("e_exif6.jpg", "EXIF orientation 6 applied: upright, not 'turned_away'",
     lambda d: d["status"] == "ok"),
    ("f_truncated.jpg", "really truncated JPEG is refused as truncated",
     lambda d: d["status"] == "error" and "truncated" in d["error"]),
    ("g_not_an_image.png", "text file named .png",
     lambda d: d["status"] == "error" and "cannot decode" in d["error"]),
    ("h_last_good.jpg", "the batch went on to the last file",
     lambda d: d["status"] == "ok"),
]  # fmt: skip


@pytest.fixture(scope="module")
def batch_run(
    faces_dir: Path,
    portrait_bgr: np.ndarray,
    onnx_model_path: Path,
    landmarker_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict:
    folder = tmp_path_factory.mktemp("batch_in")
    jpeg = (faces_dir / "biden2.jpg").read_bytes()
    cv2.imwrite(str(folder / "a_grey.png"), cv2.cvtColor(portrait_bgr, cv2.COLOR_BGR2GRAY))
    (folder / "b_bomb_40000x30000.png").write_bytes(png_bomb(40000, 30000))
    (folder / "c_big_20000x15000.png").write_bytes(png_bomb(20000, 15000))
    (folder / "d_trailer.jpg").write_bytes(jpeg + b"MotionPhoto_Data" + os.urandom(20000))
    (folder / "e_exif6.jpg").write_bytes(exif_rotated_jpeg(portrait_bgr))
    (folder / "f_truncated.jpg").write_bytes(jpeg[: len(jpeg) * 2 // 3])
    (folder / "g_not_an_image.png").write_text("hello, not a picture\n")
    (folder / "h_last_good.jpg").write_bytes(jpeg)
    out = tmp_path_factory.mktemp("batch_out")
    args = ["analyze", folder, "--json", "--out", out, "--model", onnx_model_path,
            "--landmarker", landmarker_path, "--backend", "onnxruntime"]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "wds_edge.cli", *map(str, args)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = {Path(d["input"]).name: d for d in map(json.loads, proc.stdout.splitlines())}
    return {"code": proc.returncode, "stderr": proc.stderr, "lines": lines, "out": out}


@pytest.mark.parametrize(("name", "why", "check"), BATCH_ROWS, ids=[r[0] for r in BATCH_ROWS])
def test_analyze_batch_row(batch_run: dict, name: str, why: str, check: Callable) -> None:
    assert batch_run["code"] == 1, batch_run["stderr"][-2000:]  # some inputs failed
    assert "Traceback" not in batch_run["stderr"]
    line = batch_run["lines"][name]
    assert check(line), (why, line)
    stem = Path(name).stem
    written = (batch_run["out"] / f"{stem}.json").exists()
    assert written == (line["status"] != "error")  # nothing written for a failed file
    assert not leftovers(batch_run["out"])


def test_exif_orientation_gives_the_upright_frame(batch_run: dict, portrait_bgr) -> None:
    assert batch_run["lines"]["e_exif6.jpg"]["frame_shape"] == list(portrait_bgr.shape[:2])


def test_header_size_check_costs_no_memory(tmp_path: Path) -> None:
    """The 20000 x 15000 PNG is refused before decoding: the process stays small."""
    path = tmp_path / "big.png"
    path.write_bytes(png_bomb(20000, 15000))
    code = (
        "import resource, sys\n"
        "from wds_edge.io import read_image\n"
        "from wds_edge.errors import InvalidInputError\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    read_image(sys.argv[1])\nexcept InvalidInputError as e:\n    print(e)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60
    )
    message, grown_mb = proc.stdout.strip().splitlines()
    assert "is more than the 200,000,000 accepted" in message
    assert int(grown_mb) < 50, f"reading the header grew the process by {grown_mb} MB"


def test_rgb_array_with_explicit_colour_order_matches_bgr(analyzer, biden_bgr) -> None:
    rgb = np.ascontiguousarray(biden_bgr[:, :, ::-1])
    a = analyzer.analyze(biden_bgr)
    b = analyzer.analyze(rgb, colour_order="rgb")
    assert a.status.value == b.status.value == "ok"
    assert a.scores["overall"].wrinkle_px == b.scores["overall"].wrinkle_px
    grey3 = cv2.cvtColor(cv2.cvtColor(biden_bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert analyzer.analyze(grey3).status.value == "needs_colour_camera"
    with pytest.raises(ValueError, match="colour_order must be one of bgr, rgb"):
        analyzer.analyze(biden_bgr, colour_order="yuv")
