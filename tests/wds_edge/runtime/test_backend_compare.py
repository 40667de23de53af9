"""`bench compare` with BACKEND:PRECISION entries, and the precision in the analyzer's report."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("openvino", reason="compares OpenVINO with ONNX Runtime")

from wds_edge.bench.backend_compare import compare_backends, parse_backend_specs  # noqa: E402
from wds_edge.errors import InvalidInputError  # noqa: E402


def test_specs_are_parsed_and_bad_ones_refused() -> None:
    assert parse_backend_specs(["onnxruntime:fp32", " OpenVINO:BF16"]) == [
        ("onnxruntime", "fp32"),
        ("openvino", "bf16"),
    ]
    for bad in (["openvino"], ["a:fp32", "a:fp32"], []):
        with pytest.raises(InvalidInputError):
            parse_backend_specs(bad)


def test_interleaved_comparison_on_face_crops(
    onnx_model_path: Path, faces_dir: Path, landmarker_path: Path
) -> None:
    result = compare_backends(
        faces_dir, ["onnxruntime:fp32", "openvino:fp32"], model_path=onnx_model_path,
        landmarker_path=landmarker_path, max_frames=4, rounds=4, warmup=1, num_threads=1,
    )  # fmt: skip
    assert [r.label for r in result.rows] == ["onnxruntime:fp32", "openvino:fp32"]
    assert result.rows[0].speedup == 1.0 and result.rows[0].mean_iou == 1.0
    assert result.rows[0].paired_speedup == 1.0 and result.rows[1].paired_speedup > 0
    assert "paired_speedup" in result.rows[1].row()
    assert all(r.model_ms.count == 4 for r in result.rows)
    assert result.rows[1].min_iou >= 0.99
    # the untrained model marks no wrinkle on these faces: the masks agree trivially, and the
    # gate says so instead of "pass" (it passed at IoU 1.0 on empty masks)
    assert not result.rows[1].gate_passed and result.rows[1].gate_verdict == "not gated"
    assert result.rows[1].row()["gate"] == "not gated"
    assert any(n.startswith("gate not gated: the FP32 model marks (almost) no wrinkles")
               for n in result.notes)  # fmt: skip
    assert result.to_dict()["reference"] == "onnxruntime:fp32"
    with pytest.raises(InvalidInputError, match="FP32 entry"):
        compare_backends(faces_dir, ["openvino:bf16"], model_path=onnx_model_path)


def test_analyzer_reports_backend_and_precision(
    onnx_model_path: Path, landmarker_path: Path, biden_bgr
) -> None:
    from wds_edge.analysis.analyzer import WrinkleAnalyzer

    with WrinkleAnalyzer(
        model_path=str(onnx_model_path), backend="openvino", precision="fp32",
        landmarker_path=str(landmarker_path), num_threads=1,
    ) as analyzer:  # fmt: skip
        info = analyzer.model_info
        assert (info["backend"], info["precision"]) == ("openvino", "fp32")
        result = analyzer.analyze(biden_bgr)
        assert result.to_dict()["model"]["precision"] == "fp32"


def test_analyzer_passes_the_openvino_device_through(
    onnx_model_path: Path, landmarker_path: Path
) -> None:
    """No Intel NPU here: the device reaches OpenVINO and is refused with the devices present."""
    from wds_edge.analysis.analyzer import WrinkleAnalyzer
    from wds_edge.errors import BackendError

    with pytest.raises(BackendError, match=r"no device 'NPU' here \(available: \['CPU'"):
        WrinkleAnalyzer(
            model_path=str(onnx_model_path), backend="openvino", precision="fp32", device="NPU",
            landmarker_path=str(landmarker_path),
        )  # fmt: skip
