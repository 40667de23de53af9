"""OpenVINO INT8: the unquantized layers run in FP32 and the IR says what its gate was
measured with; the IR records the device it was quantized for; NNCF reads the crops from
disk on each pass (issue 22, items 7, 16, 19). Small model, synthetic crops: fast."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("nncf", reason="OpenVINO INT8 needs nncf")

from wds_edge.errors import InvalidInputError  # noqa: E402
from wds_edge.runtime import openvino as ov_backend  # noqa: E402
from wds_edge.runtime.probe_inputs import synthetic_skin_crops  # noqa: E402
from wds_edge_calibration.dataset import write_calibration_set  # noqa: E402
from wds_edge_calibration.openvino_int8 import quantize_openvino_int8  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "wds_b4_128_dyn.onnx"


@pytest.fixture(scope="module")
def int8_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("ov8")
    model = tmp / "m.onnx"
    shutil.copy(FIXTURE, model)
    crops = synthetic_skin_crops(128, 6, seed=4)
    sets = [write_calibration_set(part, tmp / name, source="synthetic", size_px=128,
                                  preprocessing_path="synthetic")
            for name, part in (("calib", crops[:3]), ("held", crops[3:]))]  # fmt: skip
    quantize_openvino_int8(model, *sets, allow_accuracy_loss=True, target_device="ANY")
    return model


def test_int8_unquantized_layers_are_compiled_fp32_even_on_a_bf16_cpu(
    int8_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a BF16 CPU: there OpenVINO's default would run the kept layers (head, first conv) in BF16
    monkeypatch.setattr(ov_backend, "native_precisions", lambda *a, **k: ["fp32", "bf16", "int8"])
    with ov_backend.OpenVinoBackend(int8_model, precision="int8", cache_dir=False) as backend:
        # one compiled model in f32 (issue 25: no texture split needed when the hint is f32)
        assert backend.precision_hints == ["f32"]
        assert "unquantized layers FP32, texture FP32" in backend.device
        gate = backend.gate
    assert gate["unquantized_precision"] == "f32" and gate["texture_precision"] == "f32"
    assert "OpenVINO CPU INT8" in gate["measured_on"]


def test_the_ir_records_its_target_device(int8_model: Path, tmp_path: Path) -> None:
    with ov_backend.OpenVinoBackend(int8_model, precision="int8", cache_dir=False) as backend:
        calibration = json.loads(backend.ir_info["calibration"])
    assert calibration["target_device"] == "ANY"
    with pytest.raises(InvalidInputError, match="target_device"):
        quantize_openvino_int8(int8_model, None, None, target_device="VPU")  # type: ignore[arg-type]


def test_nncf_gets_a_reiterable_dataset_not_a_list(
    int8_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nncf

    seen: dict[str, Any] = {}
    real = nncf.Dataset

    def spy(source: Any, *args: Any) -> Any:
        seen["source"] = source
        return real(source, *args)

    monkeypatch.setattr(nncf, "Dataset", spy)
    crops = synthetic_skin_crops(128, 4, seed=8)
    calib, held = (write_calibration_set(part, tmp_path / n, source="s", size_px=128,
                                         preprocessing_path="s")
                   for n, part in (("c", crops[:2]), ("h", crops[2:])))  # fmt: skip
    model = tmp_path / "m.onnx"
    shutil.copy(FIXTURE, model)
    quantize_openvino_int8(model, calib, held, allow_accuracy_loss=True)
    source = seen["source"]
    assert not isinstance(source, list) and len(source) == 2
    assert len(list(source)) == len(list(source)) == 2  # every pass reads the crops again


@pytest.mark.parametrize("arch", [{}, {"stem": "space_to_depth", "input_norm": "centred"}])
def test_a_texture_outside_model_is_quantized_with_its_first_and_head_convs_fp32(
    arch: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: `quantize --format openvino` of a --texture-outside model (fed [R, G, B, T])
    looked for the texture Concat anyway and failed, saying the model declares the texture
    map inside the graph. Its first convolution is the input's (through a centred model's
    Sub / Mul and a space_to_depth stem's reshapes), read back from the IR."""
    torch = pytest.importorskip("torch", reason="exporting the test model needs torch")
    import openvino as ov

    from wds_edge.cli import main
    from wds_edge_export.onnx_export import export_model
    from wds_edge_train.model import WrinkleUNet

    torch.manual_seed(0)
    model = tmp_path / "m.onnx"
    export_model(WrinkleUNet(base_channels=4, **arch), model, input_size_px=64,
                 texture_in_graph=False)  # fmt: skip
    crops = synthetic_skin_crops(64, 4, seed=4)
    calib, held = (write_calibration_set(part, tmp_path / name, source="synthetic", size_px=64,
                                         preprocessing_path="synthetic")
                   for name, part in (("calib", crops[:2]), ("held", crops[2:])))  # fmt: skip
    with pytest.raises(SystemExit) as ended:  # the untrained model's gate is inconclusive
        main(["quantize", "--onnx", str(model), "--calib", str(calib.path), "--held-out",
              str(held.path), "--format", "openvino", "--allow-accuracy-loss"])  # fmt: skip
    err = " ".join(capsys.readouterr().err.split())
    assert ended.value.code in (0, None), err
    assert "declares the texture map inside the graph" not in err
    ir = ov.Core().read_model(str(ov_backend.int8_model_path(model)))
    kept = json.loads(ir.get_rt_info([ov_backend.RT_INFO_SECTION, "calibration"]).astype(str))
    first, head = "/inc/inc.0/Conv/WithoutBiases", "/head1/Conv/WithoutBiases"
    assert {first, head} <= set(kept["kept_higher"])
    assert not any(name.startswith("/preprocess") for name in kept["kept_higher"])
    convs = {op.get_friendly_name(): op for op in ir.get_ordered_ops()
             if op.get_type_name() == "Convolution"}  # fmt: skip
    assert any(op.input(0).get_source_output().get_node().get_type_name() == "FakeQuantize"
               for op in convs.values())  # fmt: skip
    for name in (first, head):
        source = convs[name].input(0).get_source_output().get_node()
        assert source.get_type_name() != "FakeQuantize", f"{name} reads an INT8 activation"
