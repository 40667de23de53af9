"""Training recipes end to end, and the two-class output's channel semantics (issue 20)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.model.preprocessing import model_input
from wds_edge_export.graph import InferenceGraph
from wds_edge_export.onnx_export import export_checkpoint, export_model, read_metadata
from wds_edge_train.checkpoint import load_checkpoint
from wds_edge_train.model import WrinkleUNet


def _drive3(drive_dir: Path, root: Path) -> Path:
    for sub in ("images", "1st_manual", "mask"):
        (root / sub).mkdir(parents=True)
    for n in (21, 22, 23):
        for sub, name in (("images", f"{n}_training.tif"), ("1st_manual", f"{n}_manual1.gif"),
                          ("mask", f"{n}_training_mask.gif")):  # fmt: skip
            (root / sub / name).symlink_to(drive_dir / sub / name)
    return root


def test_official_recipe_trains_exports_and_analyses(
    drive_dir: Path, faces_dir: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    torch.set_num_threads(1)
    data, run = _drive3(drive_dir, tmp_path / "drive3"), tmp_path / "official"
    result = CliRunner().invoke(app, [
        "train", "--data", str(data), "--out", str(run), "--recipe", "official", "--base", "8",
        "--crop-size", "128", "--batch-size", "2", "--val-count", "1", "--epochs", "2",
        "--device", "cpu",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    # the official training code's choices (shared/README.md, train_wrinkle_wds.py)
    assert {k: config[k] for k in ("recipe", "dice", "activation", "input_norm", "seed", "amp",
                                   "augment", "wwm_fill")} == {
        "recipe": "official", "dice": "two-class", "activation": "relu",
        "input_norm": "centred", "seed": 43, "amp": False, "augment": "official",
        "wwm_fill": "nonzero_mean",
    }  # fmt: skip
    (prov,) = config["provenance"]
    assert len(prov["commit"]) == 40 and "torch" in prov["packages"]
    assert prov["device"] == "cpu" and prov["amp"] is False  # what ran, not "auto" / the request

    onnx_path = tmp_path / "official.onnx"
    export_checkpoint(run / "best.pt", onnx_path, input_size_px=128)
    md = read_metadata(onnx_path)
    arch = md.architecture.model_dump()
    assert arch["input_norm"] == "centred" and arch["input_mean_std"] == [0.5, 0.25]
    assert md.training["recipe"] == "official" and md.training["input_norm"] == "centred"
    assert md.training["commit"] == prov["commit"]
    assert md.training["devices"] == ["cpu"] and md.training["amp_used"] is False

    # the normalisation is inside the graph: ONNX Runtime fed plain RGB equals the model fed
    # (x / 255 - 0.5) / 0.25, and differs from the same weights without it
    ckpt = load_checkpoint(run / "best.pt")
    rgb = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    x = model_input(rgb, md.preprocessing)
    (got,) = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(
        None, {"image": x}
    )
    with torch.no_grad():
        want = InferenceGraph(ckpt.model).eval()(torch.from_numpy(x)).numpy()
        ckpt.model.input_norm = "unit"
        unnormalised = InferenceGraph(ckpt.model).eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert np.abs(got - unnormalised).max() > 1e-3

    result = CliRunner().invoke(app, [
        "analyze", str(faces_dir / "biden2.jpg"), "--json", "--no-overlay", "--model",
        str(onnx_path), "--landmarker", str(landmarker_path), "--backend", "onnxruntime",
        "--threads", "1",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert line["status"] == "ok"


@pytest.mark.parametrize(
    ("bias", "expected"),
    [((-5.0, 5.0), 1 / (1 + math.exp(-10))), ((5.0, -5.0), 1 / (1 + math.exp(10)))],
)
def test_two_class_export_outputs_the_wrinkle_channel(
    bias: tuple[float, float], expected: float, tmp_path: Path
) -> None:
    # A two-class model whose F1 head ignores its features: logits (background, wrinkle) =
    # bias everywhere, so the wrinkle probability is softmax(bias)[1] = 1 / (1 + e^(b0 - b1)),
    # by hand. Swapping the class channels anywhere in the export flips it.
    net = WrinkleUNet(4, 8, "relu", out_channels=2).eval()
    with torch.no_grad():
        net.head1.weight.zero_()
        net.head1.bias.copy_(torch.tensor(bias))
    path = tmp_path / "two.onnx"
    export_model(net, path, input_size_px=32, simplify=False)
    x = model_input(np.full((32, 32, 3), 128, np.uint8), "texture_in_graph")
    (prob,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"image": x}
    )
    np.testing.assert_allclose(prob, np.full((1, 1, 32, 32), expected), rtol=1e-4, atol=1e-9)
