"""--stem space_to_depth end to end: train on real DRIVE images, export, parity, OpenVINO."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.model.preprocessing import model_input
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend
from wds_edge_export.onnx_export import export_checkpoint, read_metadata
from wds_edge_export.parity import parity_on_crops
from wds_edge_train.checkpoint import load_checkpoint


def _train(data: Path, run: Path, crop: int) -> object:
    return CliRunner().invoke(app, [
        "train", "--data", str(data), "--out", str(run), "--stem", "space_to_depth",
        "--base", "8", "--crop-size", str(crop), "--batch-size", "2", "--val-count", "1",
        "--epochs", "2", "--device", "cpu",
    ])  # fmt: skip


@pytest.fixture(scope="module")
def stem_run(drive_small: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two epochs of ``wds-edge train --stem space_to_depth`` on 3 DRIVE images."""
    torch.set_num_threads(1)
    data = drive_small
    run = tmp_path_factory.mktemp("run") / "stem"
    result = _train(data, run, 128)
    assert result.exit_code == 0, result.output
    return data, run


def test_a_crop_the_stem_cannot_pool_is_refused_before_training(
    stem_run: tuple[Path, Path], tmp_path: Path
) -> None:
    data, _ = stem_run
    result = _train(data, tmp_path / "bad", 144)  # a multiple of 16, not of 32
    assert result.exit_code != 0
    why = str(result.exception) + result.output
    assert "not a multiple of 32" in why and "space_to_depth" in why
    assert not (tmp_path / "bad" / "last.pt").exists()


def test_train_export_parity_and_openvino(stem_run: tuple[Path, Path], tmp_path: Path) -> None:
    import cv2

    data, run = stem_run
    ckpt = load_checkpoint(run / "best.pt")
    assert ckpt.config["stem"] == "space_to_depth" and ckpt.model.stem == "space_to_depth"
    report = export_checkpoint(run / "best.pt", tmp_path / "m.onnx", input_size_px=128)
    md = read_metadata(report.path)
    assert md.architecture.stem == "space_to_depth"
    ops = {n.op_type for n in onnx.load(str(report.path)).graph.node}
    # the texture map at full resolution, then the rearrangement, then the U-Net
    assert {"Conv", "Div"} <= ops and ops & {"SpaceToDepth", "DepthToSpace", "Reshape"}

    image = cv2.imread(str(next((data / "images").iterdir())))[:, :, ::-1]
    crops = [(f"drive{i}", np.ascontiguousarray(image[y : y + 128, 100:228]))
             for i, y in enumerate((150, 300))]  # fmt: skip
    parity = parity_on_crops(ckpt.model, report.path, crops, md)
    assert parity["max_abs_diff"] <= 1e-4 and parity["masks_identical"]

    pytest.importorskip("openvino")
    from wds_edge.runtime.openvino import OpenVinoBackend

    x = model_input(crops[0][1], md.preprocessing)
    with (
        OnnxRuntimeBackend(report.path, providers=["CPUExecutionProvider"]) as ref,
        OpenVinoBackend(report.path, cache_dir=False) as ov,
    ):
        assert ov.texture_on_host  # the texture boundary is found in front of the stem
        np.testing.assert_allclose(ov.infer(x), ref.infer(x), atol=1e-3)
