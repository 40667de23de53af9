"""`bench compare` BACKEND:PRECISION entries with a Q/DQ INT8 model: there is no FP32
reference (ONNX Runtime and OpenVINO both run the file in INT8 whatever the entry names), so
it is refused instead of reported as "IoU vs FP32"."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("openvino", reason="compares OpenVINO with ONNX Runtime")

from wds_edge.bench.backend_compare import compare_backends  # noqa: E402
from wds_edge.cli import app  # noqa: E402
from wds_edge.errors import InvalidInputError  # noqa: E402


def test_a_qdq_onnx_is_refused_as_the_fp32_reference(
    qdq_onnx: Path, faces_dir: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    """Review: with a Q/DQ file `onnxruntime:fp32` and `openvino:fp32` both ran INT8 and the
    note, compare.json "reference" and the plot title still said "vs FP32"."""
    with pytest.raises(InvalidInputError, match="Q/DQ INT8 model") as caught:
        compare_backends(
            faces_dir, ["onnxruntime:fp32", "openvino:fp32"], model_path=qdq_onnx,
            landmarker_path=landmarker_path, max_frames=2, rounds=1, warmup=0, num_threads=1,
        )  # fmt: skip
    assert "FP32 source" in str(caught.value)
    out = tmp_path / "cmp"
    for entries in ("onnxruntime:fp32,openvino:fp32", "onnxruntime:fp32,openvino:int8"):
        result = CliRunner().invoke(app, [
            "bench", "compare", "--source", str(faces_dir), "--backends", entries,
            "--models", str(qdq_onnx), "--landmarker", str(landmarker_path),
            "--out", str(out),
        ])  # fmt: skip
        assert isinstance(result.exception, InvalidInputError), result.output
        assert "Q/DQ INT8 model" in str(result.exception)
        # openvino:int8 too: one line that says what to do (its FP32 source with the IR)
        assert "--models SOURCE.onnx --backends" in str(result.exception)
        assert not out.exists()  # refused before anything is made


def test_the_reference_label_is_what_was_loaded(
    onnx_model_path: Path, faces_dir: Path, landmarker_path: Path
) -> None:
    result = compare_backends(
        faces_dir, ["openvino:fp32", "onnxruntime:fp32"], model_path=onnx_model_path,
        landmarker_path=landmarker_path, max_frames=2, rounds=1, warmup=0, num_threads=1,
    )  # fmt: skip
    assert result.reference == "openvino:fp32"
    assert any(n.startswith("IoU: thresholded masks vs openvino:fp32") for n in result.notes)
