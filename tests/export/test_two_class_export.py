"""--dice two-class end to end: train on real DRIVE images, export, ORT parity, eval, INT8."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.model.preprocessing import model_input
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend
from wds_edge_calibration.dataset import write_calibration_set
from wds_edge_calibration.qdq import fp32_nodes, quantize_qdq
from wds_edge_export.graph import InferenceGraph
from wds_edge_export.onnx_export import export_checkpoint, read_metadata
from wds_edge_export.parity import parity_on_crops
from wds_edge_train.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def two_class_run(drive_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A few steps of ``wds-edge train --dice two-class`` on 3 DRIVE images (2 train, 1 val)."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("drive3")
    for sub in ("images", "1st_manual", "mask"):
        (root / sub).mkdir()
    for n in (21, 22, 23):
        for sub, name in (("images", f"{n}_training.tif"), ("1st_manual", f"{n}_manual1.gif"),
                          ("mask", f"{n}_training_mask.gif")):  # fmt: skip
            (root / sub / name).symlink_to(drive_dir / sub / name)
    run = tmp_path_factory.mktemp("run") / "two"
    result = CliRunner().invoke(app, [
        "train", "--data", str(root), "--out", str(run), "--dice", "two-class", "--loss", "wds",
        "--base", "8", "--crop-size", "128", "--batch-size", "2", "--val-count", "1",
        "--epochs", "3", "--device", "cpu",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    return root, run


def _drive_crops(data: Path, size: int) -> list[tuple[str, np.ndarray]]:
    import cv2

    image = cv2.imread(str(next((data / "images").iterdir())))[:, :, ::-1]
    return [(f"drive{i}", np.ascontiguousarray(image[y : y + size, 100 : 100 + size]))
            for i, y in enumerate((150, 300))]  # fmt: skip


def test_train_export_parity_eval(two_class_run, tmp_path: Path) -> None:
    data, run = two_class_run
    ckpt = load_checkpoint(run / "best.pt")
    assert ckpt.dice == "two-class" and ckpt.config["dice"] == "two-class"
    assert ckpt.model.head1.out_channels == 2

    report = export_checkpoint(run / "best.pt", tmp_path / "m.onnx", input_size_px=128)
    md = read_metadata(report.path)
    assert md.training["dice"] == "two-class" and md.training["loss"] == "wds"
    arch = md.architecture.model_dump()
    assert arch["dice"] == "two-class" and arch["out_channels"] == 2 and arch["loss"] == "wds"
    assert md.output_semantics == "wrinkle_probability"
    proto = onnx.load(str(report.path))
    (out,) = proto.graph.output
    assert [d.dim_value for d in out.type.tensor_type.shape.dim] == [1, 1, 128, 128]
    assert "Softmax" in [n.op_type for n in proto.graph.node]  # softmax inside the graph

    # ONNX Runtime == torch (in-graph texture included) on real DRIVE crops
    parity = parity_on_crops(ckpt.model, report.path, _drive_crops(data, 128), md)
    assert parity["max_abs_diff"] <= 1e-4 and parity["masks_identical"]
    # ... and the probability is softmax channel 1 of the F1 logits
    x = torch.from_numpy(model_input(_drive_crops(data, 128)[0][1], md.preprocessing))
    with torch.no_grad():
        logits = ckpt.model.forward_f1(InferenceGraph(ckpt.model).preprocess(x))
        prob = InferenceGraph(ckpt.model).eval()(x)
    torch.testing.assert_close(prob, torch.softmax(logits, 1)[:, 1:2])
    with OnnxRuntimeBackend(report.path, providers=["CPUExecutionProvider"]) as backend:
        got = backend.infer(x.numpy())
    np.testing.assert_allclose(got, prob.numpy(), atol=1e-4)

    result = CliRunner().invoke(app, [
        "eval", "--checkpoint", str(run / "best.pt"), "--data", str(data), "--json",
        "--split", "val", "--device", "cpu",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    obj = json.loads(result.output)
    assert obj["jsi"] == pytest.approx(ckpt.metrics["val"]["jsi"], abs=1e-9)


def test_analyze_runs_a_two_class_model(
    two_class_run, faces_dir: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    _, run = two_class_run
    onnx_path = export_checkpoint(run / "best.pt", tmp_path / "m.onnx", input_size_px=128).path
    result = CliRunner().invoke(app, [
        "analyze", str(faces_dir / "biden2.jpg"), "--json", "--no-overlay", "--model",
        str(onnx_path), "--landmarker", str(landmarker_path), "--backend", "onnxruntime",
        "--threads", "1",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert line["status"] == "ok"
    assert 0.0 <= line["scores"]["overall"]["wrinkle_ratio"] <= 1.0


def test_int8_qdq_keeps_the_softmax_head_in_fp32(two_class_run, tmp_path: Path) -> None:
    data, run = two_class_run
    fp32 = export_checkpoint(run / "best.pt", tmp_path / "m.onnx", input_size_px=128).path
    proto = onnx.load(str(fp32))
    kept = set(fp32_nodes(proto))
    by_op = {n.op_type: n.name for n in proto.graph.node if n.op_type in ("Softmax", "Slice")}
    head = next(n.name for n in proto.graph.node if n.name.startswith("/head1/"))
    assert {by_op["Softmax"], by_op["Slice"], head} <= kept
    crops = [c for _, c in _drive_crops(data, 128)]
    calib = write_calibration_set(crops, tmp_path / "calib", source="drive", size_px=128,
                                  preprocessing_path="test")  # fmt: skip
    int8 = quantize_qdq(fp32, calib, tmp_path / "m.int8.onnx")
    q = onnx.load(str(int8))
    producers = {o: n for n in q.graph.node for o in n.output}
    for node in q.graph.node:
        if node.op_type in ("Softmax", "Slice"):
            assert all(producers.get(i) is None or producers[i].op_type != "DequantizeLinear"
                       for i in node.input[:1]), f"{node.name} runs on quantized input"  # fmt: skip
    softmax = next(n for n in q.graph.node if n.op_type == "Softmax")
    assert producers[softmax.input[0]].op_type == "Conv"  # the F1 head conv, FP32 logits
    session = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    x = model_input(crops[0], "texture_in_graph")
    (prob,) = session.run(None, {"image": x})
    assert prob.shape == (1, 1, 128, 128) and 0.0 <= prob.min() <= prob.max() <= 1.0
