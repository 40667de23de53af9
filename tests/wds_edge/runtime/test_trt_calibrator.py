"""The TensorRT 10 entropy calibrator refuses crops of another size than the model's input.

A calibration set made at 128 px for a 64 px model would be copied batch by batch into a
device buffer sized for the model's input (196608 bytes into 49152): the check happens
before the calibrator allocates or copies anything, as the Q/DQ and OpenVINO routes do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.runtime.tensorrt.provision import ensure_engine


@pytest.fixture(scope="module")
def onnx_64px(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real base-4, 64 px, batch-1 model from the project's exporter."""
    torch = pytest.importorskip("torch", reason="exporting the test model needs torch")
    from wds_edge_export.onnx_export import export_model
    from wds_edge_train.model import WrinkleUNet

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("calib_size") / "wds_b4_64_b1.onnx"
    export_model(WrinkleUNet(base_channels=4), out, input_size_px=64)
    return out


def test_int8_build_refuses_128px_crops_for_a_64px_model_before_any_copy(
    fake_trt, onnx_64px: Path, tmp_path: Path, make_calib
) -> None:
    from wds_edge_calibration.trt_calibrator import tensorrt_calibration

    state = fake_trt(version="10.3.0")
    calib = make_calib(0)  # 128 px crops
    assert calib.size_px == 128
    with pytest.raises(InvalidInputError) as err:
        ensure_engine(onnx_64px, "int8", calibration=tensorrt_calibration(calib),
                      gate_crops="synthetic", cache_dir=tmp_path)  # fmt: skip
    message = str(err.value)
    assert "128 px" in message and "64 px" in message  # both sizes
    assert "196608" in message and "49152" in message  # both byte sizes
    assert "wds-edge calibrate" in message and "--size 64" in message  # how to fix it
    assert [r for r in state.records if r.kind == "malloc"] == []  # before any buffer / copy
    assert state.builds == []  # refused before the engine build starts


def test_make_entropy_calibrator_checks_the_size_itself(
    fake_trt, onnx_64px: Path, tmp_path: Path, make_calib
) -> None:
    """The calibrator factory is public: the check does not rely on the engine builder."""
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend
    from wds_edge_calibration.trt_calibrator import make_entropy_calibrator

    state = fake_trt(version="10.3.0")
    with OnnxRuntimeBackend(onnx_64px, providers=["CPUExecutionProvider"]) as backend:
        metadata = backend.metadata
    with pytest.raises(InvalidInputError, match=r"128 px.*64 px"):
        make_entropy_calibrator(make_calib(0), metadata, model_sha256="m",
                                cache_path=tmp_path / "c.calib")  # fmt: skip
    assert [r for r in state.records if r.kind == "malloc"] == []  # nothing allocated


def test_a_crop_unlike_its_manifest_is_not_copied_past_the_buffer(
    fake_trt, onnx_64px: Path, tmp_path: Path, make_calib
) -> None:
    """A hand-edited folder whose manifest says 64 px while the PNGs are 128 px: the batch's
    own byte size is checked before each copy too."""
    import json

    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend
    from wds_edge_calibration.dataset import load_calibration_set
    from wds_edge_calibration.trt_calibrator import make_entropy_calibrator

    fake_trt(version="10.3.0")
    folder = make_calib(0).path
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["size_px"] = 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with OnnxRuntimeBackend(onnx_64px, providers=["CPUExecutionProvider"]) as backend:
        metadata = backend.metadata
    calibrator = make_entropy_calibrator(
        load_calibration_set(folder), metadata, model_sha256="m", cache_path=tmp_path / "c.calib"
    )
    try:
        with pytest.raises(InvalidInputError, match=r"196608 bytes .* 49152 bytes"):
            calibrator.get_batch(["image"])
        assert calibrator.batches_fed == 0
    finally:
        calibrator.close()
