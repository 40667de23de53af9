"""The method's wiring, pinned against independent references (issue 20, item 3).

Each test here fails on one of the one-line changes that once left the whole suite green:
a head fed from the wrong decoder, heads upsampled with the wrong kernel or corner rule, a
WWM block size paired with the wrong head, the checkpoint chosen on the test fold, weight
decay on biases and norms, the official Gaussian threshold's constant, the input
normalisation of the ``official`` recipe. References are written here from the paper /
the official code's definitions (numpy bilinear interpolation, Algorithm 1 by hand, Adam's
first step), never by calling the code under test.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import wds_edge_train.loop as loop_module
from wds_edge_train.labeling.thresholding import threshold_texture
from wds_edge_train.loop import TrainConfig, train
from wds_edge_train.losses import DeepSupervisionLoss
from wds_edge_train.model import WrinkleUNet

TINY = {"base_channels": 8, "crop_size": 128, "batch_size": 2, "tensorboard": False}


# -- heads: decoder stage, scale and upsampling --------------------------------------------------


def _bilinear_half_pixel(a: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of C x h x w to C x H x W with half-pixel centres and edge clamping:
    ``src = (dst + 0.5) * h / H - 0.5`` clamped to ``[0, h - 1]`` (torch's
    ``align_corners=False``, OpenCV's ``INTER_LINEAR``), written out in numpy."""

    def axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0.0, n_in - 1)
        i0 = np.floor(src).astype(int)
        return i0, np.minimum(i0 + 1, n_in - 1), src - i0

    y0, y1, wy = axis(a.shape[1], out_hw[0])
    x0, x1, wx = axis(a.shape[2], out_hw[1])
    rows = a[:, y0] * (1 - wy)[None, :, None] + a[:, y1] * wy[None, :, None]
    return rows[:, :, x0] * (1 - wx) + rows[:, :, x1] * wx


def _head(conv: torch.nn.Conv2d, features: torch.Tensor) -> np.ndarray:
    """A 1 x 1 convolution by hand: C_out x h x w from C_in x h x w features."""
    w = conv.weight.detach().numpy()[:, :, 0, 0]
    b = conv.bias.detach().numpy()
    return np.einsum("oc,chw->ohw", w, features[0].detach().numpy()) + b[:, None, None]


@pytest.mark.parametrize("out_channels", [1, 2])
def test_each_head_reads_its_decoder_at_its_scale_upsampled_bilinearly(out_channels: int) -> None:
    torch.manual_seed(0)
    net = WrinkleUNet(4, 8, "relu", out_channels).eval()
    decoders: dict[str, torch.Tensor] = {}
    # D4 (1/8) ... D1 (full) are the outputs of the four up-sampling blocks, in this order.
    names = {"up1": "D4", "up2": "D3", "up3": "D2", "up4": "D1"}
    hooks = [
        getattr(net, module).register_forward_hook(
            lambda _m, _i, out, key=key: decoders.__setitem__(key, out)
        )
        for module, key in names.items()
    ]
    x = torch.rand(1, 4, 64, 96)
    with torch.no_grad():
        heads = net.forward_heads(x)
    for h in hooks:
        h.remove()
    for key, scale in (("D1", 1), ("D2", 2), ("D3", 4), ("D4", 8)):
        assert tuple(decoders[key].shape[-2:]) == (64 // scale, 96 // scale), key
    expected = [
        _head(net.head1, decoders["D1"]),
        *(
            _bilinear_half_pixel(_head(conv, decoders[key]), (64, 96))
            for conv, key in ((net.head2, "D2"), (net.head3, "D3"), (net.head4, "D4"))
        ),
    ]
    for i, (got, want) in enumerate(zip(heads, expected, strict=True), start=1):
        np.testing.assert_allclose(got[0].numpy(), want, atol=2e-5, err_msg=f"head F{i}")
    # the four heads really differ (a test of identical heads would prove nothing)
    assert min(float((heads[i] - heads[j]).abs().max()) for i in range(4) for j in range(i)) > 1e-3


# -- the loss: which WWM weights which head ----------------------------------------------------


def _gt8() -> torch.Tensor:
    g = torch.zeros(1, 1, 8, 8)
    g[0, 0, 0, 0] = g[0, 0, 0, 1] = g[0, 0, 1, 1] = 1
    g[0, 0, 6:8, 6:8] = 1
    return g


def test_wwm_block_sizes_pair_with_heads_f2_s2_f3_s4_f4_s8() -> None:
    # Constant per-head probabilities p1..p4 = 0.5, 0.25, 0.5, 0.75 (logits 0, -ln 3, 0,
    # ln 3) on the 8 x 8 ground truth with 7 wrinkle pixels. Algorithm 1 by hand (official
    # non-zero-mean fill, Step 4 = weight 1 on the 7 wrinkle pixels), S_wg = 7 for every WWM:
    #   s = 2: S_w = 56.75,  s = 4: S_w = 19.4375,  s = 8: S_w = 13.234375.
    # Weighted Dice with a constant p: 1 - 2 p S_wg / (p S_w + S_wg).
    def wd(p: float, s_w: float) -> float:
        return 1 - 2 * p * 7 / (p * s_w + 7)

    dice_f1 = 1 - 2 * 0.5 * 7 / (0.5 * 64 + 7)
    expected = dice_f1 + wd(0.25, 56.75) + wd(0.5, 19.4375) + wd(0.75, 13.234375)
    swapped = dice_f1 + wd(0.25, 13.234375) + wd(0.5, 19.4375) + wd(0.75, 56.75)
    assert abs(expected - swapped) > 0.2  # the pairing is visible in the value
    ln3 = math.log(3.0)
    heads = [torch.full((1, 1, 8, 8), v) for v in (0.0, -ln3, 0.0, ln3)]
    got = DeepSupervisionLoss("wds", eps=0.0)(heads, _gt8()).item()
    assert got == pytest.approx(expected, abs=1e-5)


# -- selection on validation, never on the test fold -------------------------------------------


def test_best_checkpoint_is_selected_on_validation_and_test_is_read_once(
    drive_small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    real = loop_module.evaluate_samples

    def recording(model, samples, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append([s.stem for s in samples])
        return real(model, samples, *args, **kwargs)

    monkeypatch.setattr(loop_module, "evaluate_samples", recording)
    run = tmp_path / "cv"
    res = train(TrainConfig(data=str(drive_small), out=str(run), epochs=4, folds=3, fold=2,
                            val_count=1, augment="none", **TINY))  # fmt: skip
    folds = json.loads((run / "folds.json").read_text())
    val, test = folds["val"], folds["test"]
    assert set(val).isdisjoint(test) and len(calls) == 4 + 1
    assert calls[:4] == [val] * 4  # one validation pass per epoch, nothing else
    assert calls[4] == test  # the test fold is read once, after training
    with open(run / "log.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # best = highest validation JSI, ties -> lower validation loss, then the earliest epoch
    ranked = sorted(rows, key=lambda r: (-float(r["val_jsi"]), float(r["val_loss"]),
                                         int(r["epoch"])))  # fmt: skip
    assert res.best_epoch == int(ranked[0]["epoch"])
    assert res.metrics["split"] == "val" and res.metrics["test_images"] == test


# -- weight decay: conv kernels only -----------------------------------------------------------


def test_weight_decay_reaches_conv_kernels_only(
    drive_small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups: list[list[dict]] = []

    class RecordingAdam(torch.optim.Adam):
        def __init__(self, params, **kwargs) -> None:  # noqa: ANN001, ANN003
            super().__init__(params, **kwargs)
            groups.append(self.param_groups)

    monkeypatch.setattr(torch.optim, "Adam", RecordingAdam)
    net_holder: list[torch.nn.Module] = []
    real_unet = loop_module.WrinkleUNet

    def recording_unet(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        net_holder.append(real_unet(*args, **kwargs))
        return net_holder[-1]

    monkeypatch.setattr(loop_module, "WrinkleUNet", recording_unet)
    train(TrainConfig(data=str(drive_small), out=str(tmp_path / "wd"), epochs=1, val_count=1,
                      weight_decay=3e-4, augment="none", **TINY))  # fmt: skip
    (param_groups,) = groups
    decay_of = {id(p): g["weight_decay"] for g in param_groups for p in g["params"]}
    (net,) = net_holder
    kernels, others = [], []
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            kernels.append(module.weight)
            others += [module.bias] if module.bias is not None else []
        elif isinstance(module, torch.nn.BatchNorm2d):
            others += [module.weight, module.bias]
    assert len(decay_of) == len(kernels) + len(others) == len(list(net.parameters()))
    assert all(decay_of[id(p)] == 3e-4 for p in kernels)
    assert all(decay_of[id(p)] == 0.0 for p in others)


# -- the official Gaussian adaptive threshold: block 11, C = 1 ----------------------------------


def test_gaussian_threshold_constant_is_one_by_hand() -> None:
    # The inverted masked texture 255 - T is 100 everywhere and 97 at one pixel. OpenCV's
    # Gaussian mean (11 x 11, sigma 2, uint8) at that pixel is round(100 - 3 * 0.0402) = 100,
    # everywhere else 100 too. Foreground = pixel <= mean - C:
    #   C = 1: 97 <= 99 at the dot, 100 <= 99 nowhere else -> exactly the dot;
    #   C = 5 (or any C > 3): 97 <= 95 fails -> nothing.
    texture = np.full((21, 21), 155.0, np.float32)
    texture[10, 10] = 158.0
    label = threshold_texture(texture, np.ones((21, 21), bool), "gaussian")
    expected = np.zeros((21, 21), bool)
    expected[10, 10] = True
    np.testing.assert_array_equal(label, expected)


# -- the official recipe's input normalisation -------------------------------------------------


def test_centred_input_norm_is_x_minus_half_over_quarter_inside_the_network() -> None:
    torch.manual_seed(0)
    unit = WrinkleUNet(4, 8, "relu", 2, input_norm="unit").eval()
    centred = WrinkleUNet(4, 8, "relu", 2, input_norm="centred").eval()
    centred.load_state_dict(unit.state_dict())
    x = torch.rand(1, 4, 32, 32)
    with torch.no_grad():
        # (x - 0.5) / 0.25 = 4 x - 2, by hand, fed to the unit model
        torch.testing.assert_close(centred.forward_f1(x), unit.forward_f1(4 * x - 2))
        assert not torch.allclose(centred.forward_f1(x), unit.forward_f1(x))
