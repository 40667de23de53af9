"""Whole-image evaluation: padding, cropping back, pooled vs per-image metrics, CLI errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from wds_edge.errors import DataError, InvalidInputError
from wds_edge.model.metrics import segmentation_metrics
from wds_edge_train.data import LoadedSample, discover_samples, load_sample
from wds_edge_train.evaluate import evaluate_checkpoint, evaluate_samples, predict_probability
from wds_edge_train.model import WrinkleUNet


@pytest.fixture(scope="module")
def net() -> WrinkleUNet:
    torch.manual_seed(1)
    return WrinkleUNet(4, 8).eval()


def test_predict_any_size(net: WrinkleUNet) -> None:
    image = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    prob = predict_probability(net, image)
    assert prob.shape == (37, 53) and prob.dtype == np.float32
    assert prob.min() >= 0.0 and prob.max() <= 1.0


def test_predict_pads_bottom_right_and_crops_back_the_top_left_pixels(net: WrinkleUNet) -> None:
    # 37 x 53 -> reflect-padded (numpy "reflect" = OpenCV reflect-101) to 48 x 64 at the
    # bottom / right, texture map on the padded image, network, sigmoid, then the top-left
    # 37 x 53 pixels: built here by hand with numpy and the network's own forward.
    from wds_edge.model.preprocessing import network_channels

    image = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    padded = np.pad(image, ((0, 11), (0, 11), (0, 0)), mode="reflect")
    x = torch.from_numpy(network_channels(padded).transpose(2, 0, 1).copy())[None]
    with torch.no_grad():
        expected = torch.sigmoid(net.forward_f1(x))[0, 0, :37, :53].numpy()
    np.testing.assert_allclose(predict_probability(net, image), expected, atol=1e-6)
    # the crop really is the top-left: the bottom-right window of the padded output differs
    with torch.no_grad():
        other = torch.sigmoid(net.forward_f1(x))[0, 0, -37:, -53:].numpy()
    assert np.abs(other - expected).max() > 1e-3


def test_pooled_and_per_image_metrics_on_drive(net: WrinkleUNet, drive_small: Path) -> None:
    _, samples = discover_samples(drive_small)
    loaded = [load_sample(s) for s in samples[:2]]
    out = evaluate_samples(net, loaded, threshold=0.5)
    preds = [predict_probability(net, s.image_rgb) > 0.5 for s in loaded]
    # pooled = metrics of all FOV pixels of both images together
    pooled = segmentation_metrics(
        np.concatenate([p[s.fov] for p, s in zip(preds, loaded, strict=True)]),
        np.concatenate([s.mask[s.fov] for s in loaded]),
    )
    for k, v in pooled.items():
        assert out["pooled"][k] == pytest.approx(v, abs=1e-12)
    per = [segmentation_metrics(p, s.mask, s.fov) for p, s in zip(preds, loaded, strict=True)]
    assert out["per_image_mean"]["jsi"] == pytest.approx((per[0]["jsi"] + per[1]["jsi"]) / 2)
    assert out["images"] == ["21", "22"]
    with pytest.raises(InvalidInputError, match="threshold"):
        evaluate_samples(net, loaded, threshold=1.5)


def test_a_sample_with_an_empty_fov_is_not_scored(net: WrinkleUNet) -> None:
    # No pixel to score: the metrics would read 1.0 everywhere.
    image = np.zeros((16, 16, 3), np.uint8)
    empty = LoadedSample("blank", image, np.zeros((16, 16), bool), np.zeros((16, 16), bool))
    with pytest.raises(DataError, match="'blank': its field-of-view mask has no pixels"):
        evaluate_samples(net, [empty])


def test_eval_cli_reports_bad_checkpoint(tmp_path: Path, drive_small: Path) -> None:
    bad = tmp_path / "x.pt"
    bad.write_bytes(b"nope")
    proc = subprocess.run(
        [sys.executable, "-m", "wds_edge.cli", "eval", "--checkpoint", str(bad), "--data",
         str(drive_small)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "x.pt: not a readable wds-edge checkpoint" in " ".join(proc.stderr.split())


def test_test_split_of_a_run_without_folds(
    net: WrinkleUNet, tmp_path: Path, drive_small: Path
) -> None:
    # A run without --folds records an empty test split: say so, not "none of [] are in it".
    from wds_edge_train.checkpoint import save_checkpoint

    splits = {"train": ["21", "22"], "val": ["23"], "test": []}
    ckpt = save_checkpoint(tmp_path / "best.pt", model=net, config={"base_channels": 8},
                           metrics={}, epoch=1, extra={"splits": splits})  # fmt: skip
    with pytest.raises(
        InvalidInputError,
        match=r"this run has no test split \(trained without --folds\); use --split val or "
        "--split all",
    ):
        evaluate_checkpoint(ckpt, drive_small, split="test")
