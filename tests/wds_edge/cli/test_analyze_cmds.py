"""`wds-edge analyze`: JSON lines, output files, per-input errors and the exit code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.errors import ModelError
from wds_edge.perception.regions import REGION_NAMES


def test_json_lines_outputs_and_failures(
    onnx_model_path: Path, landmarker_path: Path, faces_dir: Path, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(faces_dir / "biden2.jpg", inputs / "biden2.jpg")
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8garbage")
    out = tmp_path / "out"
    args = [
        "analyze",
        str(inputs),
        str(tmp_path / "missing.png"),
        "--json",
        "--out",
        str(out),
        "--model",
        str(onnx_model_path),
        "--landmarker",
        str(landmarker_path),
        "--backend",
        "onnxruntime",
        "--threads",
        "1",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [Path(d["input"]).name for d in lines] == ["biden2.jpg", "broken.jpg", "missing.png"]
    good, broken, missing = lines
    assert good["status"] == "ok"
    assert set(good["scores"]) == {"overall", *REGION_NAMES}
    assert all("wrinkle_ratio" in s for s in good["scores"].values())
    assert {"decode", "landmarks", "inference", "total"} <= set(good["timings_ms"])
    assert broken["status"] == "error" and "broken.jpg" in broken["error"]
    assert missing["status"] == "error" and "no such file" in missing["error"]
    assert sorted(p.name for p in out.iterdir()) == ["biden2.json", "biden2_overlay.png"]
    saved = json.loads((out / "biden2.json").read_text())
    assert saved["status"] == "ok" and saved["scores"] == good["scores"]


def test_table_output_and_success_exit_code(
    onnx_model_path: Path, landmarker_path: Path, faces_dir: Path
) -> None:
    args = [
        "analyze",
        str(faces_dir / "obama*.jpg"),
        "--model",
        str(onnx_model_path),
        "--landmarker",
        str(landmarker_path),
        "--backend",
        "onnxruntime",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "obama.jpg" in result.stdout and "ok" in result.stdout


def test_bad_options_are_clear(onnx_model_path: Path, faces_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["analyze", str(faces_dir), "--model", str(onnx_model_path) + ".x"])
    assert isinstance(result.exception, ModelError)
    result = runner.invoke(
        app, ["analyze", str(faces_dir), "--backend", "gpu", "--model", str(onnx_model_path)]
    )
    assert "auto, onnxruntime, openvino, tensorrt" in str(result.exception)
    assert "INPUT" in runner.invoke(app, ["analyze", "--help"]).stdout
