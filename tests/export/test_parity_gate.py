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
from wds_edge_export.parity import check_parity, parity_on_crops
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
