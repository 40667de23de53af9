"""INT8 for OpenVINO: NNCF quantization of a trained proxy model, gated on held-out face crops."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("nncf", reason="OpenVINO INT8 needs nncf (pip install '.[openvino-int8]')")

from wds_edge.errors import InvalidInputError, ModelError  # noqa: E402
from wds_edge.model.preprocessing import model_input  # noqa: E402
from wds_edge.runtime.gate import accuracy_gate  # noqa: E402
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend  # noqa: E402
from wds_edge.runtime.openvino import OpenVinoBackend, int8_model_path  # noqa: E402
from wds_edge_calibration.dataset import write_calibration_set  # noqa: E402
from wds_edge_calibration.openvino_int8 import higher_precision_nodes, quantize_openvino_int8  # noqa: E402
from wds_edge_export.onnx_export import export_model  # noqa: E402


@pytest.fixture(scope="module")
def sets(kiosk_crops_128, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ov_int8")
    crops = [c for _, c in kiosk_crops_128]
    calib = write_calibration_set(
        crops[:6], tmp / "calib", source="faces", size_px=128, preprocessing_path="kiosk"
    )
    held = write_calibration_set(
        crops[6:], tmp / "held", source="faces", size_px=128, preprocessing_path="kiosk"
    )
    return tmp, calib, held


@pytest.fixture(scope="module")
def quantized(proxy_model, sets):
    tmp, calib, held = sets
    fp32 = tmp / "m.onnx"
    export_model(proxy_model, fp32, input_size_px=128)
    path, gate = quantize_openvino_int8(fp32, calib, held)
    return fp32, path, gate


def test_int8_ir_next_to_the_model_passes_the_gate_on_held_out_crops(quantized, sets) -> None:
    fp32, path, gate = quantized
    _, _, held = sets
    assert path == int8_model_path(fp32) and path.with_suffix(".bin").is_file()
    assert gate.passed and gate.images == len(held) >= 3
    with (
        OnnxRuntimeBackend(fp32, providers=["CPUExecutionProvider"]) as ref,
        OpenVinoBackend(fp32, precision="int8") as q,  # finds m.int8.xml next to m.onnx
    ):
        assert q.model_path == path and q.precision == "int8"
        assert q.metadata == ref.metadata  # the contract survives quantization
        assert q.gate is not None and q.gate["mean_iou"] == pytest.approx(gate.mean_iou)
        inputs = [model_input(c, "texture_in_graph") for c in held.crops()]
        again = accuracy_gate(ref.infer, q.infer, inputs, precision="int8")
        assert again.passed and again.max_abs_prob_diff > 0  # quantized, and within the gate


def test_texture_first_conv_and_head_stay_out_of_int8(quantized) -> None:
    import openvino as ov

    _, path, _ = quantized
    model = ov.Core().read_model(str(path))
    ops = {op.get_friendly_name(): op for op in model.get_ordered_ops()}
    fq = [n for n, op in ops.items() if op.get_type_name() == "FakeQuantize"]
    assert len(fq) > 10
    kept = higher_precision_nodes(ov.Core().read_model(str(path.with_name("m.onnx"))))
    assert any(k.startswith("/preprocess/") for k in kept) and "/head1/Conv/WithoutBiases" in kept
    for name in kept:  # no quantizer feeds a kept node
        if name in ops:
            feeds = [i.get_source_output().get_node().get_type_name() for i in ops[name].inputs()]
            assert "FakeQuantize" not in feeds, name
    info = json.loads(str(model.get_rt_info(["wds_edge", "calibration"]).astype(str)))
    named = {k for k in kept if k.startswith("/")}  # others are OpenVINO's per-read names
    assert info["crops"] == 6 and named <= set(info["kept_higher"])


def test_stale_int8_model_and_overlapping_sets_are_refused(quantized, sets, tmp_path) -> None:
    fp32, path, _ = quantized
    _, calib, _ = sets
    other = tmp_path / "m.onnx"
    other.write_bytes(fp32.read_bytes() + b"\0")  # another FP32 file with the old INT8 IR
    for suffix in (".xml", ".bin"):
        shutil.copy(path.with_suffix(suffix), int8_model_path(other).with_suffix(suffix))
    with pytest.raises(ModelError, match="quantized from another version"):
        OpenVinoBackend(other, precision="int8")
    with pytest.raises(InvalidInputError, match="also calibration crops"):
        quantize_openvino_int8(fp32, calib, calib, tmp_path / "x.int8.xml")


@pytest.mark.slow
def test_a_model_that_fails_the_gate_is_not_written(
    face_photos, video_path, landmarker_path, tmp_path
):
    """The bundled 640 px model with every layer in INT8 (texture excepted) fails on video crops.

    Measured (benchmarks/RESULTS.md): mean IoU ~0.968 < 0.98; with the first conv and the
    head kept higher it reaches ~0.98. The refused model must not be written.
    """
    import itertools

    from wds_edge.model.bundled import default_model_path
    from wds_edge_calibration.crops import face_crops_from_images, iter_face_crops

    photos = [p for p in face_photos if p.stem in ("biden2", "obama2", "ffhq_00016")]
    calib_crops = [
        c for _, c in face_crops_from_images(photos, 640, landmarker_path=landmarker_path)
    ]
    video = iter_face_crops(video_path, 640, landmarker_path=landmarker_path, frame_stride=30)
    held_crops = [c for _, c in itertools.islice(video, 4)]
    kw = {"size_px": 640, "preprocessing_path": "kiosk"}
    calib = write_calibration_set(calib_crops, tmp_path / "c", source="photos", **kw)
    held = write_calibration_set(held_crops, tmp_path / "h", source="video", **kw)
    out = tmp_path / "n.int8.xml"
    with pytest.raises(ModelError, match="INT8 accuracy gate failed: mean mask IoU"):
        quantize_openvino_int8(
            default_model_path(),
            calib,
            held,
            out,
            keep_first_conv=False,
            keep_head=False,
            keep_last_block=False,
        )
    assert not out.exists() and not out.with_suffix(".bin").exists()
