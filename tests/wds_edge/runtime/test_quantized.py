"""One place decides a model's precision: a Q/DQ INT8 graph is ``int8`` on every backend and
in every report (``analyze --json``, ``bench``), read without the onnx package."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import onnx
import pytest

from wds_edge.errors import BackendError, ModelError
from wds_edge.runtime import load_backend
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend
from wds_edge.runtime.quantized import model_precision, read_onnx_file_info

HAS_OPENVINO = importlib.util.find_spec("openvino") is not None


def test_the_file_is_read_as_the_onnx_package_reads_it(small_onnx: Path, qdq_onnx: Path) -> None:
    for path in (small_onnx, qdq_onnx):
        proto = onnx.load(str(path))
        info = read_onnx_file_info(path)
        assert info.op_types == {n.op_type for n in proto.graph.node}
        assert info.metadata_props == {p.key: p.value for p in proto.metadata_props}


def test_a_qdq_graph_is_int8_by_its_metadata_or_its_nodes(
    small_onnx: Path, qdq_onnx: Path, tmp_path: Path
) -> None:
    assert model_precision(small_onnx) == "fp32"
    assert model_precision(qdq_onnx) == "int8"
    assert model_precision(small_onnx, {"quantization": "{}"}) == "int8"
    other_tool = onnx.load(str(qdq_onnx))  # quantized elsewhere: no wds-edge record
    kept = [p for p in other_tool.metadata_props if p.key != "quantization"]
    del other_tool.metadata_props[:]
    other_tool.metadata_props.extend(kept)
    onnx.save(other_tool, str(tmp_path / "other.onnx"))
    assert model_precision(tmp_path / "other.onnx") == "int8"  # its QuantizeLinear nodes
    (tmp_path / "junk.onnx").write_bytes(b"\x0a\xff\xff\xff")
    with pytest.raises(ModelError, match="cannot read it as an ONNX model"):
        model_precision(tmp_path / "junk.onnx")


@pytest.mark.parametrize(
    ("backend", "precision"),
    [("onnxruntime", "auto"), ("onnxruntime", "int8"), ("openvino", "fp32"),
     ("openvino", "int8"), ("openvino", "auto"), ("auto", "auto"), ("auto", "int8")],
)  # fmt: skip
def test_every_backend_reports_a_qdq_model_as_int8(
    qdq_onnx: Path, small_onnx: Path, backend: str, precision: str
) -> None:
    if "onnxruntime" not in backend and not HAS_OPENVINO:
        pytest.skip("OpenVINO is not installed")
    with load_backend(qdq_onnx, backend, precision=precision, device="CPU") as loaded:
        assert loaded.precision == "int8", (loaded.name, loaded.device)
    with OnnxRuntimeBackend(small_onnx) as fp32:
        assert fp32.precision == "fp32"


@pytest.mark.skipif(not HAS_OPENVINO, reason="OpenVINO is not installed")
def test_openvino_runs_a_qdq_model_f32_around_its_int8_layers(qdq_onnx: Path) -> None:
    """Its quantization checked the unquantized layers are FP32: BF16 / FP16 are refused."""
    with load_backend(qdq_onnx, "openvino", precision="int8") as loaded:
        assert set(loaded.precision_hints) == {"f32"} and "INT8" in loaded.device
    for precision in ("bf16", "fp16"):
        with pytest.raises((ModelError, BackendError)) as refused:
            load_backend(qdq_onnx, "openvino", precision=precision)
        if isinstance(refused.value, ModelError):  # BackendError: not native on this CPU
            assert "Q/DQ" in str(refused.value) and "--precision int8" in str(refused.value)


def test_analyze_json_and_bench_say_int8(
    qdq_onnx: Path, faces_dir: Path, landmarker_path: Path
) -> None:
    from typer.testing import CliRunner

    from wds_edge.bench.model_bench import benchmark_model
    from wds_edge.cli import app

    result = CliRunner().invoke(app, [
        "analyze", str(faces_dir / "biden2.jpg"), "--model", str(qdq_onnx), "--json",
        "--backend", "onnxruntime", "--landmarker", str(landmarker_path),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["model"]["precision"] == "int8"
    backends = ["onnxruntime", "openvino"] if HAS_OPENVINO else ["onnxruntime"]
    for backend in backends:
        result = benchmark_model(qdq_onnx, backend=backend, warmup=0, runs=1)
        assert result.precision == "int8", backend


def test_a_qdq_model_without_a_gate_record_runs_with_a_warning(
    qdq_onnx: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """quantize_qdq alone gates nothing: the backends say so once, and still run it; a
    quantizer loading its new model to gate it is not warned."""
    import shutil

    from wds_edge.runtime.gate import gating_new_model

    qdq_onnx = Path(shutil.copy(qdq_onnx, tmp_path / "q.onnx"))  # not loaded yet: no warning yet

    with caplog.at_level(logging.WARNING, logger="wds_edge.runtime"):
        with gating_new_model(), OnnxRuntimeBackend(qdq_onnx):
            pass
        assert "accuracy-gate record" not in caplog.text
        for _ in range(2):
            with OnnxRuntimeBackend(qdq_onnx) as backend:
                assert backend.precision == "int8"
        if HAS_OPENVINO:
            load_backend(qdq_onnx, "openvino", precision="int8").close()
    warnings = [r for r in caplog.records if "has no accuracy-gate record" in r.getMessage()]
    assert len(warnings) == 1  # once per model and process, whichever backend loads it
    assert f"{qdq_onnx}: this INT8 model" in caplog.text
    assert "wds-edge quantize --format qdq --onnx wds_b4_128_dyn.onnx" in caplog.text


def test_an_old_gate_record_on_a_reference_marking_every_pixel_warns_not_gated(
    qdq_onnx: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A Q/DQ model quantized before the "not gated" verdict carries ``passed: true`` and no
    ``verdict`` although its FP32 reference marked every pixel (as the untrained fixture
    does): its load warns that it was not gated, as a new record would say."""
    # the figures that matter of a record wds-edge wrote then
    record = {"precision": "int8", "images": 21, "mean_iou": 1.0, "min_iou": 1.0,
              "passed": True, "reference_fraction": 1.0, "measured_on": "onnxruntime CPU",
              "held_out": True}  # fmt: skip
    model = onnx.load(str(qdq_onnx))
    prop = next(p for p in model.metadata_props if p.key == "quantization")
    prop.value = json.dumps({**json.loads(prop.value), "gate": record})
    old = tmp_path / "old_int8.onnx"
    onnx.save(model, str(old))
    with caplog.at_level(logging.WARNING, logger="wds_edge.runtime"):
        OnnxRuntimeBackend(old).close()
    assert f"{old}: this INT8 model was not gated when it was made" in caplog.text
    assert "marks 1.00000 of the pixels" in caplog.text
