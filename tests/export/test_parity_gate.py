"""The parity gate: pixels within rounding of the threshold may flip, real differences fail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import helper, numpy_helper

from wds_edge.errors import ModelError
from wds_edge.model.preprocessing import model_input
from wds_edge_export.graph import InferenceGraph
from wds_edge_export.onnx_export import export_model
from wds_edge_export.parity import PARITY_MIN_MASK_IOU, check_parity, parity_on_crops
from wds_edge_train.model import WrinkleUNet

SIZE = 64


def _model(seed: int) -> WrinkleUNet:
    torch.manual_seed(seed)
    return WrinkleUNet(4, 8).eval()


def _nudged(src: Path, dst: Path, output: str, eps: float) -> None:
    """``src`` with ``eps`` added to its output: a rounding-sized difference everywhere."""
    proto = onnx.load(str(src))
    for node in proto.graph.node:
        node.output[:] = [f"{o}_pre" if o == output else o for o in node.output]
    proto.graph.initializer.append(numpy_helper.from_array(np.float32([eps]), "parity_eps"))
    proto.graph.node.append(helper.make_node("Add", [f"{output}_pre", "parity_eps"], [output]))
    onnx.save(proto, str(dst))


def test_a_pixel_flipping_at_the_threshold_passes_another_model_fails(tmp_path: Path) -> None:
    """Outputs 1e-6 apart, the threshold between PyTorch's and ONNX Runtime's value at the
    most confident pixel: PyTorch's mask is empty, ONNX Runtime's holds a few pixels, IoU
    over the crop 0; the export is right and passes. A graph of other weights fails."""
    crop = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    model = _model(0)
    metadata = export_model(model, tmp_path / "m.onnx", input_size_px=SIZE, simplify=False)
    _nudged(tmp_path / "m.onnx", tmp_path / "n.onnx", metadata.output_name, 1e-6)
    with torch.no_grad():
        ref = InferenceGraph(model).eval()(
            torch.from_numpy(model_input(crop, metadata.preprocessing))
        )
    top = float(ref.max())
    sparse = metadata.model_copy(update={"threshold": top + 5e-7})
    report = parity_on_crops(model, tmp_path / "n.onnx", [("random", crop)], sparse)
    assert report["max_abs_diff"] < 1e-5 and not report["masks_identical"]
    check_parity(report)
    assert report["min_mask_iou_all"] == 0.0 and report["flipped_pixels"] >= 1
    assert report["min_mask_iou"] == 1.0  # away from the threshold the masks agree

    # the gate stays strict where it matters: another model's graph fails
    metadata = export_model(_model(1), tmp_path / "other.onnx", input_size_px=SIZE, simplify=False)
    report = parity_on_crops(model, tmp_path / "other.onnx", [("random", crop)], metadata)
    assert report["min_mask_iou"] < 0.999
    with pytest.raises(ModelError, match="parity failed on 1 face crops"):
        check_parity(report)


def test_nan_outputs_fail_parity(tmp_path: Path) -> None:
    """Defect: a NaN difference compares false with the limit and all-NaN outputs give two
    empty masks (IoU 1.0), so a checkpoint with NaN weights exported with a passing parity
    check. The non-finite values of each side are counted and fail it."""
    crop = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    with pytest.raises(ModelError, match="parity failed"):
        check_parity({"max_abs_diff": float("nan"), "min_mask_iou": 1.0, "images": 2})
    with pytest.raises(ModelError, match="parity failed"):
        check_parity({"max_abs_diff": 0.0, "min_mask_iou": float("nan"), "images": 2})

    broken = _model(0)
    with torch.no_grad():
        next(broken.parameters()).fill_(float("nan"))  # a diverged checkpoint
    metadata = export_model(broken, tmp_path / "nan.onnx", input_size_px=SIZE, simplify=False)
    report = parity_on_crops(broken, tmp_path / "nan.onnx", [("random", crop)], metadata)
    assert report["nonfinite_values"]["pytorch"] == SIZE * SIZE
    with pytest.raises(ModelError, match="checkpoint's own output holds"):
        check_parity(report)

    # a graph that alone turns NaN: the exporter's fault, said so
    model = _model(0)
    metadata = export_model(model, tmp_path / "m.onnx", input_size_px=SIZE, simplify=False)
    _nudged(tmp_path / "m.onnx", tmp_path / "n.onnx", metadata.output_name, float("nan"))
    report = parity_on_crops(model, tmp_path / "n.onnx", [("random", crop)], metadata)
    assert report["nonfinite_values"] == {"pytorch": 0, "onnxruntime": SIZE * SIZE}
    with pytest.raises(ModelError, match="exported graph computes something else"):
        check_parity(report)


def test_a_fixed_batch_is_fed_whole_and_every_row_compared(tmp_path: Path) -> None:
    """Defect: a fixed --batch 4 export fed the parity check one crop and ONNX Runtime
    refused it (a traceback). The crop is repeated 4 times and every row is compared: a
    graph wrong in its last row only fails."""
    crop = np.random.default_rng(1).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    model = _model(0)
    metadata = export_model(model, tmp_path / "m.onnx", input_size_px=SIZE, batch=4,
                            simplify=False)  # fmt: skip
    assert metadata.input_shape[0] == 4
    report = parity_on_crops(model, tmp_path / "m.onnx", [("random", crop)], metadata)
    assert report["batch_rows"] == 4 and report["max_abs_diff"] < 1e-4
    check_parity(report)

    proto = onnx.load(str(tmp_path / "m.onnx"))
    output = metadata.output_name
    for node in proto.graph.node:
        node.output[:] = [f"{o}_pre" if o == output else o for o in node.output]
    last_row = np.zeros((4, 1, 1, 1), np.float32)
    last_row[3] = 0.6  # only the fourth image's probabilities are off
    proto.graph.initializer.append(numpy_helper.from_array(last_row, "row_eps"))
    proto.graph.node.append(helper.make_node("Add", [f"{output}_pre", "row_eps"], [output]))
    onnx.save(proto, str(tmp_path / "rows.onnx"))
    report = parity_on_crops(model, tmp_path / "rows.onnx", [("random", crop)], metadata)
    assert report["max_abs_diff"] > 0.5 and report["min_mask_iou"] < PARITY_MIN_MASK_IOU
    with pytest.raises(ModelError, match="parity failed"):
        check_parity(report)
