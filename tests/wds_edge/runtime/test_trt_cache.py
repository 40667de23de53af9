"""Engine cache names, sidecar files and the stale / foreign engine check (no TensorRT needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wds_edge.errors import ModelError
from wds_edge.io import sha256_file
from wds_edge.model.metadata import ModelMetadata
from wds_edge.runtime.tensorrt.cache import (
    CalibrationRecord,
    EngineKey,
    engine_file_name,
    engine_mismatches,
    make_sidecar,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)

KEY = EngineKey("ab" * 32, "10.3.0", "Orin (nvgpu)", "8.7", 16, 61, "fp16")
INT8 = EngineKey("ab" * 32, "10.3.0", "Orin (nvgpu)", "8.7", 16, 61, "int8", "cd" * 32)


def test_file_name_says_model_trt_gpu_and_precision() -> None:
    name = engine_file_name("WDS UNet", KEY)
    assert name == "wds-unet-abababababab-trt10.3.0-orin-nvgpu-sm87-16sm-61gib-fp16.engine"
    other = EngineKey(KEY.onnx_sha256, "10.3.0", "NVIDIA GeForce RTX 4090", "8.9", 128, 24, "fp32")
    assert engine_file_name("WDS UNet", other).endswith(
        "-nvidia-geforce-rtx-4090-sm89-128sm-24gib-fp32.engine"
    )
    assert engine_file_name("m", INT8).endswith("-16sm-61gib-int8-ccdcdcdcd.engine")


def _engine_with_sidecar(tmp_path: Path, key: EngineKey = INT8) -> Path:
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"not a real plan, but real bytes to hash")
    md = ModelMetadata(input_shape=[1, 3, 640, 640], threshold=0.45)
    calibration = CalibrationRecord(
        route="implicit-entropy-calibrator2", path="/c", data_sha256=key.calibration_sha256
    )
    sidecar = make_sidecar(
        md, key, engine_sha256=sha256_file(engine), onnx_path=tmp_path / "m.onnx",
        calibration=calibration, build_s=1.5,
    )  # fmt: skip
    write_sidecar(engine, sidecar)
    return engine


def test_sidecar_round_trip(tmp_path: Path) -> None:
    engine = _engine_with_sidecar(tmp_path)
    assert sidecar_path(engine) == tmp_path / "m.json"
    sidecar = read_sidecar(engine)
    assert sidecar.metadata.threshold == 0.45 and sidecar.metadata.input_shape == [1, 3, 640, 640]
    assert sidecar.key() == INT8 and sidecar.build_s == 1.5 and sidecar.built_at
    doc = json.loads(sidecar_path(engine).read_text())
    assert doc["sidecar_version"] == 2 and doc["metadata"]["producer"] == "wds-edge"
    assert engine.read_bytes().startswith(b"not a real plan")  # nothing prepended to the plan
    assert engine_mismatches(sidecar, INT8, engine_sha256=sha256_file(engine)) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gpu_name", "NVIDIA GeForce RTX 3060"),
        ("compute_capability", "8.6"),
        ("sm_count", 8),  # Orin NX / Nano vs AGX Orin: same name
        ("memory_gib", 7),
        ("tensorrt_version", "10.7.0"),
        ("onnx_sha256", "ef" * 32),
        ("precision", "fp16"),
        ("calibration_sha256", "99" * 32),  # a new `wds-edge calibrate`
    ],
)
def test_foreign_or_stale_engine_detected(tmp_path: Path, field: str, value: object) -> None:
    engine = _engine_with_sidecar(tmp_path)
    here = EngineKey(**{**INT8.to_dict(), field: value})
    reasons = engine_mismatches(read_sidecar(engine), here, engine_sha256=sha256_file(engine))
    assert len(reasons) == 1 and field in reasons[0]


def test_replaced_plan_unknown_onnx_and_no_calibration_given(tmp_path: Path) -> None:
    engine = _engine_with_sidecar(tmp_path)
    sidecar = read_sidecar(engine)
    engine.write_bytes(b"another plan")
    assert "sha256" in engine_mismatches(sidecar, INT8, engine_sha256=sha256_file(engine))[0]
    # an engine given without its ONNX or calibration data: those checks are skipped
    loose = EngineKey("", "10.3.0", "Orin (nvgpu)", "8.7", 16, 61, "int8", "")
    assert engine_mismatches(sidecar, loose) == []


def test_missing_broken_or_old_sidecar(tmp_path: Path) -> None:
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
    # a sidecar as wds-edge wrote them before version 2 (flat metadata, no SM count)
    old = {**ModelMetadata(input_shape=[1, 3, 64, 64]).model_dump(mode="json"),
           "tensorrt_version": "10.3.0", "gpu_name": "Orin", "compute_capability": "8.7",
           "precision": "fp16", "onnx_sha256": "ab" * 32, "engine_sha256": "cd" * 32}  # fmt: skip
    (tmp_path / "x.json").write_text(json.dumps(old))
    with pytest.raises(ModelError, match=r"version 1 engine sidecar.*build-engine.*--rebuild"):
        read_sidecar(engine)
    doc = json.loads(sidecar_path(_engine_with_sidecar(tmp_path)).read_text())
    del doc["sm_count"]
    (tmp_path / "x.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match=r"sm_count: Field required.*rebuild"):
        read_sidecar(engine)
