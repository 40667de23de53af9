"""Engine cache names, sidecar files and the stale / foreign engine check (no TensorRT needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wds_edge.errors import ModelError
from wds_edge.io import sha256_file
from wds_edge.model.metadata import ModelMetadata
from wds_edge.runtime.tensorrt.cache import (
    EngineKey,
    engine_file_name,
    engine_mismatches,
    make_sidecar,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)

KEY = EngineKey("ab" * 32, "10.3.0", "Orin (nvgpu)", "8.7", "fp16")


def test_file_name_says_model_trt_gpu_and_precision() -> None:
    name = engine_file_name("WDS UNet", KEY)
    assert name == "wds-unet-abababababab-trt10.3.0-orin-nvgpu-sm87-fp16.engine"
    other = EngineKey(KEY.onnx_sha256, "10.3.0", "NVIDIA GeForce RTX 4090", "8.9", "int8")
    assert engine_file_name("WDS UNet", other).endswith("-nvidia-geforce-rtx-4090-sm89-int8.engine")


def _engine_with_sidecar(tmp_path: Path) -> Path:
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"not a real plan, but real bytes to hash")
    md = ModelMetadata(input_shape=[1, 3, 640, 640], threshold=0.45)
    doc = make_sidecar(
        md, KEY, engine_sha256=sha256_file(engine), onnx_path=tmp_path / "m.onnx",
        calibration={"route": "implicit-entropy-calibrator2", "data_sha256": "cd" * 32},
    )  # fmt: skip
    write_sidecar(engine, doc)
    return engine


def test_sidecar_round_trip(tmp_path: Path) -> None:
    engine = _engine_with_sidecar(tmp_path)
    assert sidecar_path(engine) == tmp_path / "m.json"
    doc, md = read_sidecar(engine)
    assert md.threshold == 0.45 and md.input_shape == [1, 3, 640, 640]
    for field in ("tensorrt_version", "gpu_name", "compute_capability", "precision", "onnx_sha256",
                  "engine_sha256", "built_at", "calibration"):  # fmt: skip
        assert field in doc
    assert engine.read_bytes().startswith(b"not a real plan")  # nothing prepended to the plan
    assert engine_mismatches(doc, KEY, engine_sha256=sha256_file(engine)) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gpu_name", "NVIDIA GeForce RTX 3060"),
        ("compute_capability", "8.6"),
        ("tensorrt_version", "10.7.0"),
        ("onnx_sha256", "ef" * 32),
        ("precision", "int8"),
    ],
)
def test_foreign_or_stale_engine_detected(tmp_path: Path, field: str, value: str) -> None:
    engine = _engine_with_sidecar(tmp_path)
    doc, _ = read_sidecar(engine)
    here = EngineKey(**{**KEY.to_dict(), field: value})
    reasons = engine_mismatches(doc, here, engine_sha256=sha256_file(engine))
    assert len(reasons) == 1 and field in reasons[0]


def test_replaced_plan_and_unknown_onnx(tmp_path: Path) -> None:
    engine = _engine_with_sidecar(tmp_path)
    doc, _ = read_sidecar(engine)
    engine.write_bytes(b"another plan")
    assert "sha256" in engine_mismatches(doc, KEY, engine_sha256=sha256_file(engine))[0]
    # an engine given without its ONNX: the model check is skipped, the rest still applies
    no_model = EngineKey("", "10.3.0", "Orin (nvgpu)", "8.7", "fp16")
    assert engine_mismatches(doc, no_model) == []


def test_missing_or_broken_sidecar(tmp_path: Path) -> None:
    engine = tmp_path / "x.engine"
    engine.write_bytes(b"plan")
    with pytest.raises(ModelError, match="no sidecar x.json"):
        read_sidecar(engine)
    (tmp_path / "x.json").write_text("{broken")
    with pytest.raises(ModelError, match="not valid JSON"):
        read_sidecar(engine)
    (tmp_path / "x.json").write_text(json.dumps({"producer": "wds-edge"}))
    with pytest.raises(ModelError, match="not a wds-edge engine sidecar"):
        read_sidecar(engine)
