"""scripts/trt_check.py: imports and --help without TensorRT; its report, against the stand-in."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from repo_scripts import load_script

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "trt_check.py"
HAS_TRT = importlib.util.find_spec("tensorrt") is not None


# the untrained test model marks every pixel: the gate judges it by its IoU alone
pytestmark = pytest.mark.usefixtures("untrained_model_gate")


def test_help_runs_without_tensorrt() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "--precisions" in proc.stdout and "--report" in proc.stdout


@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here")
def test_without_tensorrt_exits_2_with_the_install_hint(small_onnx: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--onnx", str(small_onnx), "--faces", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 2 and "'.[trt]'" in proc.stderr


def test_report_against_the_stand_in(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load_script(SCRIPT)
    state = fake_trt()
    report_path = tmp_path / "r.json"
    calib, held = make_calib(0), make_calib(1, count=4)
    rc = module.main(["--onnx", str(small_onnx), "--calib", str(calib.path), "--runs", "3",
                      "--held-out", str(held.path), "--report", str(report_path)])  # fmt: skip
    assert rc == 0
    report = json.loads(report_path.read_text())
    rows = {r["precision"]: r for r in report["results"]}
    assert list(rows) == ["fp32", "fp16", "int8", "int8-qdq"]
    assert report["held_out"]["count"] == 4
    # the stand-in computes FP16 by float16 rounding and INT8 by quantizing: FP32 alone equal
    assert rows["fp32"]["max_abs_prob_diff"] == 0.0 < rows["fp16"]["max_abs_prob_diff"] < 1e-2
    assert rows["int8"]["max_abs_prob_diff"] > rows["fp16"]["max_abs_prob_diff"]
    for row in report["results"]:
        assert row["gate_passed"] and row["gate"] == "passed"
        assert set(row["device_split"]) == {"h2d_ms", "compute_ms", "d2h_ms", "device_total_ms"}
        assert row["host_latency"]["p50_ms"] > 0
        assert row["fp32_check"]["fp32"], row["fp32_check"]  # texture (and head) read back FP32
    assert rows["fp16"]["layer_output_precisions"]["FP16"] > 0
    assert "/head1/Conv" in rows["fp16"]["fp32_layers_pinned"]
    assert report["gpu"]["sm_count"] == 24 and report["tensorrt"] == "10.3.0"
    assert report["gpu"]["integrated"] is False
    assert [b["qdq"] for b in state.builds] == [False, False, False, True]
    assert "| int8-qdq |" in capsys.readouterr().out
    assert {b["onnx"].endswith(".qdq.onnx") for b in state.builds} == {False, True}


def test_the_work_folder_goes_unless_kept(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Engines, the Q/DQ model and the crops were left in /tmp by every run (mkdtemp)."""
    import tempfile

    module = load_script(SCRIPT)
    fake_trt()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    argv = ["--onnx", str(small_onnx), "--calib", str(make_calib(0).path), "--runs", "2",
            "--precisions", "fp32,int8-qdq", "--report", str(tmp_path / "r.json")]  # fmt: skip
    assert module.main(argv) == 0
    assert list(scratch.iterdir()) == []
    report = json.loads((tmp_path / "r.json").read_text())
    assert [r["engine"] for r in report["results"]] == [None, None]  # removed: not named
    assert module.main([*argv, "--keep-work"]) == 0
    (kept,) = scratch.iterdir()
    assert f"work folder (kept: --keep-work): {kept}" in capsys.readouterr().out
    report = json.loads((tmp_path / "r.json").read_text())
    assert all(Path(r["engine"]).is_file() for r in report["results"])
    assert (kept / "model.qdq.onnx").is_file()


def test_the_gate_column_tells_not_gated_from_failed() -> None:
    """A gate on a reference with (almost) no wrinkles has measured nothing: the table said
    FAIL for it, as for a candidate that disagreed."""
    cell = load_script(SCRIPT)._verdict_cell
    assert [cell(v) for v in ("passed", "failed", "not gated")] == ["pass", "FAIL", "not gated"]
