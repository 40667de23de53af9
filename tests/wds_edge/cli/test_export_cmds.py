"""`wds-edge quantize` tells what it is doing (issue 23 item 8): each phase announced with
its size, a progress bar over the gate, the verdict as one line (JSON only with --json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fault_helpers import run_cli


def test_quantize_announces_its_steps_and_prints_a_verdict(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    proxy_model,
    kiosk_crops_128,  # noqa: ANN001
) -> None:
    pytest.importorskip("onnx")
    from wds_edge_calibration.dataset import write_calibration_set
    from wds_edge_export.onnx_export import export_model

    fp32 = tmp_path / "m.onnx"
    export_model(proxy_model, fp32, input_size_px=128)
    crops = [c for _, c in kiosk_crops_128[:3]]
    calib = write_calibration_set(crops, tmp_path / "calib", source="faces", size_px=128,
                                  preprocessing_path="kiosk")  # fmt: skip
    args = ["quantize", "--onnx", fp32, "--calib", calib.path, "--out", tmp_path / "q.onnx",
            "--allow-accuracy-loss"]  # fmt: skip
    code, out, _ = run_cli(capsys, *args)
    assert code == 0
    assert "step 1/2: calibrating and quantizing on 3 crops (minmax)" in out
    assert "step 1/2 done in" in out
    assert "INT8 accuracy gate" in out and "over 3 images" in out
    assert "{" not in out  # no raw JSON by default
    code, out, _ = run_cli(capsys, *args, "--json")
    assert code == 0
    gate = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert gate["images"] == 3 and 0.0 <= gate["mean_iou"] <= 1.0
