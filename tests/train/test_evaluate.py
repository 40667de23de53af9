"""Whole-image evaluation: padding, cropping back, pooled vs per-image metrics, CLI errors."""

from __future__ import annotations

import dataclasses
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


# --regions: the U-Net scored on the areas the classic baselines are scored on (Table 3).


@pytest.fixture(scope="module")
def face_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded, untrained base-8 U-Net saved as a checkpoint with no splits."""
    from wds_edge_train.checkpoint import save_checkpoint

    torch.manual_seed(3)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "best.pt",
                           model=WrinkleUNet(4, 8), config={"base_channels": 8}, metrics={},
                           epoch=1)  # fmt: skip


def test_eval_regions_scores_each_area(face_checkpoint: Path, weak_labels: Path) -> None:
    both = evaluate_checkpoint(face_checkpoint, weak_labels, split="all", regions="forehead,eyes")
    assert both["areas"] == "forehead, eyes" and both["problems"] == {}
    assert both["images"] == ["biden2", "ffhq_00117", "obama"]
    assert set(both["per_area"]) == {"forehead", "eyes"}
    for area in ("forehead", "eyes"):  # each area alone: that area's row of the pair
        one = evaluate_checkpoint(face_checkpoint, weak_labels, split="all", regions=area)
        assert one["pooled"] == both["per_area"][area] and one["areas"] == area
    plain = evaluate_checkpoint(face_checkpoint, weak_labels, split="all")
    assert "per_area" not in plain
    # the areas are parts of the skin (fov), where the labels are denser: other counts
    assert both["pooled"]["accuracy"] != plain["pooled"]["accuracy"]
    none = evaluate_checkpoint(face_checkpoint, weak_labels, split="all", regions="none")
    assert none["areas"] == "fov" and none["per_area"] == {"fov": plain["pooled"]}
    assert none["pooled"] == plain["pooled"]
    assert none["per_image_mean"] == pytest.approx(plain["per_image_mean"])


def test_eval_regions_are_the_baseline_s_areas(weak_labels: Path) -> None:
    """eval --regions and baseline measure the same pixels: a 'model' that marks every
    pixel scores sensitivity 1 and, in each area, JSI = the label's share of the area, which
    the baseline's own area logic gives (FairAreas, one implementation)."""
    from wds_edge_train.baselines import FairAreas

    class Everything(torch.nn.Module):
        size_multiple = 16

        def forward_heads(self, x: torch.Tensor) -> list[torch.Tensor]:
            return [torch.full_like(x[:, :1], 20.0)]

        def forward_f1(self, x: torch.Tensor) -> torch.Tensor:
            return self.forward_heads(x)[0]

    _, samples = discover_samples(weak_labels)
    loaded = [load_sample(s) for s in samples]
    with FairAreas("forehead,eyes", True) as fair:
        out = evaluate_samples(Everything(), loaded, areas=fair)
        for area in ("forehead", "eyes"):
            label = total = 0
            for s in loaded:
                found = dict(fair.areas(s.image_rgb, s.fov, s.landmarks)[0])
                label += int(np.count_nonzero(s.mask & found[area]))
                total += int(np.count_nonzero(found[area]))
            assert out["per_area"][area]["jsi"] == pytest.approx(label / total)
            assert out["per_area"][area]["sensitivity"] == 1.0


def test_eval_regions_cli_lists_images_without_a_face(
    face_checkpoint: Path, weak_labels: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    import json
    import shutil

    import cv2
    from typer.testing import CliRunner

    from wds_edge.cli import app

    data = tmp_path / "labels"
    shutil.copytree(weak_labels, data)
    grey = np.full((128, 128, 3), 128, np.uint8)  # nobody: no saved landmarks, none found
    cv2.imwrite(str(data / "images" / "wall.png"), grey)
    cv2.imwrite(str(data / "masks" / "wall.png"), np.zeros((128, 128), np.uint8))
    args = ["eval", "--checkpoint", str(face_checkpoint), "--data", str(data), "--split", "all",
            "--device", "cpu", "--landmarker", str(landmarker_path)]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--regions", "forehead,eyes", "--json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout.strip().splitlines()[-1])
    assert doc["n_images"] == 3 and set(doc["per_area"]) == {"forehead", "eyes"}
    assert "no face found" in doc["problems"]["wall"]
    result = CliRunner().invoke(app, [*args, "--regions", "forehead,eyes"])
    assert result.exit_code == 1
    flat = " ".join(result.stdout.split())
    assert "pooled in each area" in flat and "not scored wall: no face found" in flat
    result = CliRunner().invoke(app, [*args, "--regions", "cheeks"])
    assert isinstance(result.exception, InvalidInputError)  # exit 2 through wds-edge's main
    assert "unknown region group(s) ['cheeks']" in str(result.exception)


def test_a_split_without_a_wrinkle_pixel_says_its_jsi_is_undefined(
    net: WrinkleUNet, drive_small: Path
) -> None:
    """Ground truth with no wrinkle pixel: JSI / sensitivity are 0 / 0 (read 1.0 when the
    model marks nothing); the result says so instead of passing that off as a score."""
    _, samples = discover_samples(drive_small)
    loaded = [load_sample(s) for s in samples[:2]]
    assert "warnings" not in evaluate_samples(net, loaded)
    empty = [dataclasses.replace(s, mask=np.zeros_like(s.mask)) for s in loaded]
    out = evaluate_samples(net, empty)
    assert len(out["warnings"]) == 1 and "not defined" in out["warnings"][0]
    # one image with a wrinkle pixel is enough for the pooled figures to mean something
    assert "warnings" not in evaluate_samples(net, [empty[0], loaded[1]])
