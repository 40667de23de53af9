"""Whole-image evaluation: padding, cropping back, pooled vs per-image metrics, CLI errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from train.data import discover_samples, load_sample
from train.evaluate import evaluate_samples, predict_probability
from train.model import WrinkleUNet
from wds_edge.errors import InvalidInputError
from wds_edge.model.metrics import segmentation_metrics


@pytest.fixture(scope="module")
def net() -> WrinkleUNet:
    torch.manual_seed(1)
    return WrinkleUNet(4, 8).eval()


def test_predict_any_size(net: WrinkleUNet) -> None:
    image = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    prob = predict_probability(net, image)
    assert prob.shape == (37, 53) and prob.dtype == np.float32
    assert prob.min() >= 0.0 and prob.max() <= 1.0


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
