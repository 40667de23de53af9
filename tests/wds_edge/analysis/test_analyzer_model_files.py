"""The model files a WrinkleAnalyzer takes besides an ONNX one, and what it releases when it
cannot be built: an OpenVINO INT8 IR from ``wds-edge quantize --format openvino`` runs as
``--model`` and is identified by the FP32 model it was quantized from; a failure after the
backend and the landmarker opened closes both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fault_helpers import run_cli

from wds_edge.analysis import analyzer as analyzer_module
from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.errors import ModelError
from wds_edge.io import sha256_file
from wds_edge.perception.landmarks import FaceLandmarker
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "wds_b4_128_dyn.onnx"


@pytest.fixture(scope="module")
def int8_ir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(FP32 .onnx, its INT8 IR .xml)``: the committed 128 px model quantized by the
    OpenVINO route on synthetic crops (kept although not gated: it marks every pixel)."""
    pytest.importorskip("nncf", reason="OpenVINO INT8 needs nncf")
    from wds_edge.runtime.probe_inputs import synthetic_skin_crops
    from wds_edge_calibration.dataset import write_calibration_set
    from wds_edge_calibration.openvino_int8 import quantize_openvino_int8

    tmp = tmp_path_factory.mktemp("analyze_ir")
    fp32 = Path(shutil.copy(FIXTURE, tmp / "m.onnx"))
    crops = synthetic_skin_crops(128, 4, seed=3)
    calib, held = (write_calibration_set(part, tmp / name, source="synthetic", size_px=128,
                                         preprocessing_path="synthetic")
                   for name, part in (("calib", crops[:2]), ("held", crops[2:])))  # fmt: skip
    xml, _ = quantize_openvino_int8(fp32, calib, held, tmp / "mov.xml", allow_accuracy_loss=True)
    return fp32, xml


def test_an_openvino_int8_ir_runs_as_model_and_compares_with_its_fp32_model(
    int8_ir: tuple[Path, Path], faces_dir: Path, landmarker_path: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Defect: ``analyze --model mov.xml --backend openvino --precision int8`` was refused
    (exit 2, 'cannot read it as an ONNX model'): the result's fingerprint read every INT8
    model as a Q/DQ ONNX. The IR's source is the sha256 its rt_info records."""
    fp32, xml = int8_ir
    results = {}
    for name, model, backend in (("fp32", fp32, "onnxruntime"), ("int8", xml, "openvino")):
        code, _, err = run_cli(
            capsys, "analyze", faces_dir / "biden2.jpg", "--out", tmp_path / name, "--model",
            model, "--backend", backend, "--precision", name, "--landmarker", landmarker_path,
            "--threads", "1",
        )  # fmt: skip
        assert code == 0, err
        results[name] = json.loads((tmp_path / name / "biden2.json").read_text())["model"]
    ir = results["int8"]
    assert ir["path"] == str(xml) and ir["precision"] == "int8"
    assert ir["source_sha256"] == sha256_file(fp32) == results["fp32"]["sha256"]
    assert ir["sha256"] not in (sha256_file(xml), sha256_file(fp32))  # the .xml with its .bin
    code, out, err = run_cli(
        capsys, "compare", tmp_path / "fp32" / "biden2.json", tmp_path / "int8" / "biden2.json",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    assert not any("sha256" in note for note in json.loads(out)["notes"])


def test_an_ir_fingerprint_covers_its_weights(int8_ir: tuple[Path, Path], tmp_path: Path) -> None:
    _, xml = int8_ir
    copy = Path(shutil.copy(xml, tmp_path / "c.xml"))
    weights = bytearray(xml.with_suffix(".bin").read_bytes())
    copy.with_suffix(".bin").write_bytes(weights)
    same = analyzer_module._ir_sha256(copy)
    assert same == analyzer_module._ir_sha256(xml)
    weights[-1] ^= 1  # another model of the same graph: only its weights differ
    copy.with_suffix(".bin").write_bytes(weights)
    assert analyzer_module._ir_sha256(copy) != same


def test_a_failure_after_the_backend_and_landmarker_opened_closes_both(
    landmarker_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect: only the landmarker's own failure closed the backend; a failure after both
    were open (here the model's fingerprint, as the IR's was) left both open."""
    closed: list[str] = []

    def spy(cls: type, name: str) -> None:
        real = cls.close

        def close(self: Any) -> None:
            closed.append(name)
            real(self)

        monkeypatch.setattr(cls, "close", close)

    spy(FaceLandmarker, "landmarker")
    spy(OnnxRuntimeBackend, "backend")

    def unreadable(*args: Any) -> dict[str, str | None]:
        raise ModelError("cannot read it")

    monkeypatch.setattr(analyzer_module, "_model_fingerprint", unreadable)
    with pytest.raises(ModelError, match="cannot read it"):
        WrinkleAnalyzer(model_path=FIXTURE, backend="onnxruntime", landmarker_path=landmarker_path)
    assert closed == ["landmarker", "backend"]
