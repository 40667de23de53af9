"""`wds-edge analyze clip.mp4 --json`: a video is one capture and prints ONE JSON object.

The clips are written in the test from real frames of the kiosk clip with OpenCV's
VideoWriter: a face that smiles throughout (frames 0-11), no face (frames 210-217), only
blurred frames (180-187), and copies cut in half (truncated).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from fault_helpers import run_cli
from typer.testing import CliRunner
from video_clips import read_frames, write_clip

from wds_edge.cli import app
from wds_edge.perception.regions import REGION_NAMES


@pytest.fixture(scope="module")
def clip_frames(video_path: Path) -> dict[int, np.ndarray]:
    return read_frames(video_path, [*range(12), *range(180, 188), *range(210, 218)])


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    cut = path.with_name("cut_" + path.name)
    cut.write_bytes(data[: len(data) // 2])
    return cut


def _analyze(clip: Path, model: Path, landmarker: Path, *extra: str) -> tuple[int, list[dict]]:
    args = ["analyze", str(clip), "--json", "--model", str(model), "--landmarker",
            str(landmarker), "--backend", "onnxruntime", "--threads", "1", *extra]  # fmt: skip
    result = CliRunner().invoke(app, args)
    lines = result.stdout.strip().splitlines()
    return result.exit_code, [json.loads(line) for line in lines]


def test_a_clip_is_one_fused_result(
    clip_frames, onnx_model_path: Path, landmarker_path: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    clip = write_clip(tmp_path / "face.mp4", [clip_frames[i] for i in range(12)], "mp4v")
    code, objects = _analyze(clip, onnx_model_path, landmarker_path)
    assert code == 0 and len(objects) == 1  # exactly one JSON object for the whole clip
    data = objects[0]
    assert data["input"] == str(clip) and data["status"] == "ok" and data["fused"]
    assert data["frames_seen"] == 12 and data["frames_used"] == 10 and data["frames_refused"] == {}
    assert data["warnings"] == ["not_neutral"]  # the face smiles in every frame
    assert set(data["scores"]) == {"overall", *REGION_NAMES}
    assert set(data["per_frame_spread"]) == {"overall", *REGION_NAMES}
    assert {"mean", "sd", "cv"} <= set(data["per_frame_spread"]["overall"])
    assert len(data["used_frames"]) == 10 and data["frame"]["segmented"]
    # a total, as a photo's has (was only segment / fuse / score): the whole file's analysis
    timings = data["timings_ms"]
    assert set(timings) == {"segment", "fuse", "score", "total"}
    assert timings["total"] >= timings["segment"] + timings["fuse"] + timings["score"]
    # rebuilt as an object it is the same capture (compare judges it as one, not as a photo)
    from wds_edge.analysis.compare import compare_results
    from wds_edge.analysis.final import FinalResult

    rebuilt = FinalResult.from_dict(data)
    again = rebuilt.to_dict()
    assert {k: v for k, v in again.items() if k != "frame"} == {
        k: v for k, v in data.items() if k not in ("input", "frame")
    }
    assert again["frame"] == data["frame"]  # the crop transform too
    assert compare_results(rebuilt, data).to_dict() == compare_results(data, data).to_dict()


def test_a_clip_without_a_face_gets_a_status(
    clip_frames, onnx_model_path: Path, landmarker_path: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    clip = write_clip(tmp_path / "empty.mp4", [clip_frames[i] for i in range(210, 218)], "mp4v")
    code, objects = _analyze(clip, onnx_model_path, landmarker_path)
    assert code == 0 and len(objects) == 1
    data = objects[0]
    assert data["status"] == "no_face" and data["frames_used"] == 0
    assert data["frames_refused"] == {"no_face": 8} and data["scores"] == {}


def test_a_clip_of_blurred_frames_gets_a_status(
    clip_frames, onnx_model_path: Path, landmarker_path: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    clip = write_clip(tmp_path / "blurred.mp4", [clip_frames[i] for i in range(180, 188)], "mp4v")
    code, objects = _analyze(clip, onnx_model_path, landmarker_path)
    assert code == 0 and len(objects) == 1
    data = objects[0]
    assert data["status"] == "too_blurry" and data["frames_refused"] == {"too_blurry": 8}


def test_truncated_clips(
    clip_frames, onnx_model_path: Path, landmarker_path: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    """An AVI cut in half still decodes its first frames: ONE result from them, marked
    'truncated', printed and written, and exit 1 (a video that ended early). An MP4 cut in
    half loses its index (moov atom): an error object, exit 1."""
    frames = [clip_frames[i] for i in range(12)]
    avi = _truncate(write_clip(tmp_path / "face.avi", frames, "MJPG"))
    out = tmp_path / "results"
    code, objects = _analyze(avi, onnx_model_path, landmarker_path, "--out", str(out))
    assert code == 1 and len(objects) == 1
    data = objects[0]
    assert data["status"] == "ok" and "truncated" in data["warnings"]
    assert 0 < data["frames_seen"] < 12
    written = json.loads(Path(data["json_path"]).read_text())
    assert written["status"] == "ok" and "truncated" in written["warnings"]
    mp4 = _truncate(write_clip(tmp_path / "face.mp4", frames, "mp4v"))
    code, objects = _analyze(mp4, onnx_model_path, landmarker_path)
    assert code == 1 and len(objects) == 1
    assert objects[0]["status"] == "error" and "cannot open video file" in objects[0]["error"]


def test_a_raise_brows_capture_of_a_clip(
    clip_frames, onnx_model_path: Path, landmarker_path: Path, shared_dir: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    # W000187 raises her brows (brow_raise 0.46): a 10-frame clip of her, moved a little
    raised = cv2.imread(str(shared_dir / "data" / "faces_pd" / "W000187.jpg"))
    h, w = raised.shape[:2]
    frames = [
        cv2.warpAffine(raised, np.float32([[1, 0, dx], [0, 1, 0]]), (w, h)) for dx in range(10)
    ]
    clip = write_clip(tmp_path / "raised.avi", frames, "MJPG")
    code, objects = _analyze(clip, onnx_model_path, landmarker_path, "--expression", "raise_brows")
    assert code == 0 and len(objects) == 1
    data = objects[0]
    assert data["status"] == "ok" and data["capture"] == "raise_brows" and data["warnings"] == []
    assert data["expression"]["brow_raise"] > 0.3 and "forehead" in data["scores"]
    # the kiosk clip's face smiles and does not raise its brows: fused anyway, with a warning
    smiling = write_clip(tmp_path / "face.mp4", [clip_frames[i] for i in range(12)], "mp4v")
    _, objects = _analyze(smiling, onnx_model_path, landmarker_path, "--expression", "raise_brows")
    assert objects[0]["warnings"] == ["brows_not_raised"]
    assert objects[0]["capture"] == "raise_brows"


def test_expression_option_errors(
    onnx_model_path: Path,
    landmarker_path: Path,
    faces_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    photo = faces_dir / "ffhq_00016.png"
    for value, message in (("frown", "must be one of neutral, raise_brows"),
                           ("raise_brows", "photos, which are scored as they are")):  # fmt: skip
        code, out, err = run_cli(
            capsys, "analyze", photo, "--json", "--model", onnx_model_path,
            "--landmarker", landmarker_path, "--expression", value,
        )  # fmt: skip
        assert code == 2 and message in err and out == "", err


def test_a_clip_is_read_whole_unless_max_frames_says_otherwise(
    clip_frames, onnx_model_path: Path, landmarker_path: Path, tmp_path: Path, capsys
) -> None:  # noqa: ANN001
    """Defect: a clip was read for 150 frames only (the camera's budget): a person who
    stepped in after five seconds got no_face, exit 0 and no warning. The whole file is
    read; --max-frames stops sooner and the result says frames were left unread."""
    empty = np.full_like(clip_frames[0], 90)
    clip = write_clip(
        tmp_path / "late.avi", [empty] * 160 + [clip_frames[i] for i in range(12)], "MJPG"
    )
    code, objects = _analyze(clip, onnx_model_path, landmarker_path)
    assert code == 0 and len(objects) == 1
    data = objects[0]
    assert data["status"] == "ok" and data["frames_seen"] == 172, data["status"]
    assert data["frames_refused"] == {"no_face": 160} and data["frames_used"] == 10
    assert "frames_unread" not in data["warnings"]
    code, objects = _analyze(clip, onnx_model_path, landmarker_path, "--max-frames", "150")
    assert code == 0 and objects[0]["status"] == "no_face" and objects[0]["frames_seen"] == 150
    assert objects[0]["warnings"] == ["frames_unread"]
    # a limit the file does not reach leaves nothing unread
    code, objects = _analyze(clip, onnx_model_path, landmarker_path, "--max-frames", "500")
    assert (
        code == 0 and objects[0]["status"] == "ok" and "frames_unread" not in objects[0]["warnings"]
    )
    for args, message in (
        ([clip, "--max-frames", "5"], "--max-frames must be at least 10"),
        ([tmp_path / "x.jpg", "--max-frames", "50"], "--max-frames limits a video's capture"),
    ):
        code, out, err = run_cli(capsys, "analyze", *args, "--model", onnx_model_path,
                                 "--landmarker", landmarker_path)  # fmt: skip
        assert code == 2 and message in err and out == "", err


def test_a_clip_whose_face_left_and_came_back_says_how_many_frames_were_dropped(
    clip_frames, onnx_model_path: Path, landmarker_path: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    """12 frames of the face, 32 refused (blurred, empty: the default reset is 30 in a row),
    12 of the face again: the second group alone is fused, and the JSON and the summary line
    say the first 12 were dropped (they said nothing)."""
    face = [clip_frames[i] for i in range(12)]
    gone = [clip_frames[i] for i in (*range(180, 188), *range(210, 218))] * 2
    clip = write_clip(tmp_path / "back.avi", face + gone + face, "MJPG")
    code, objects = _analyze(clip, onnx_model_path, landmarker_path)
    data = objects[0]
    assert code == 0 and data["status"] == "ok" and data["frames_reset"] == 12
    assert data["frames_seen"] == 56 and min(u["index"] for u in data["used_frames"]) >= 44
    args = ["analyze", str(clip), "--model", str(onnx_model_path), "--landmarker",
            str(landmarker_path), "--backend", "onnxruntime", "--threads", "1"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    status = " ".join(  # the table's status column (rich folds it over lines)
        line.split("│")[2].strip() for line in result.stdout.splitlines() if "│" in line
    )
    assert (
        "ok (10 fused of 56, 12 set aside when the face left or changed, not_neutral)" in status
    ), status
