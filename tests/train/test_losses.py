"""Dice (Eq. 3), weighted Dice (Eq. 4), total loss (Eq. 5): values and gradients by hand."""

from __future__ import annotations

import pytest
import torch

from wds_edge.errors import InvalidInputError
from wds_edge_train.losses import (
    DeepSupervisionLoss,
    dice_loss,
    two_class_dice_loss,
    weighted_dice_loss,
)

P = [0.5, 0.25, 1.0, 0.0]
G = [1.0, 0.0, 1.0, 0.0]


def _p() -> torch.Tensor:
    return torch.tensor(P, dtype=torch.float32, requires_grad=True)


def test_dice_value_and_gradient() -> None:
    # I = sum(p g) = 1.5, S = sum(p) + sum(g) = 1.75 + 2 = 3.75; D = 1 - 3 / 3.75 = 0.2
    # dD/dp_i = -(2 g_i S - 2 I) / S^2 = -(7.5 g_i - 3) / 14.0625 -> -0.32 (g=1), 0.21333.. (g=0)
    p = _p()
    loss = dice_loss(p, torch.tensor(G), eps=0.0)
    loss.backward()
    assert loss.item() == pytest.approx(0.2, abs=1e-7)
    expected = [-0.32, 3 / 14.0625, -0.32, 3 / 14.0625]
    torch.testing.assert_close(p.grad, torch.tensor(expected), atol=1e-7, rtol=0)


def test_dice_default_eps_and_empty() -> None:
    assert dice_loss(torch.tensor(P), torch.tensor(G)).item() == pytest.approx(0.2, abs=1e-6)
    # empty prediction of an empty ground truth: a perfect result, loss 0 (not 0/0)
    assert dice_loss(torch.zeros(4), torch.zeros(4)).item() == pytest.approx(0.0, abs=1e-7)


def test_dice_with_fov_mask() -> None:
    # pixel 2 is outside the FOV: I = 0.5, sum(p) = 0.75, sum(g) = 1 -> D = 1 - 1 / 1.75 = 3/7
    loss = dice_loss(torch.tensor(P), torch.tensor(G), torch.tensor([1.0, 1, 0, 1]), eps=0.0)
    assert loss.item() == pytest.approx(3 / 7, abs=1e-7)


def test_weighted_dice_value_and_gradient() -> None:
    # w = [1, .5, .5, 1]: sum(wpg) = .5 + .5 = 1, sum(wp) = 1.125, sum(wg) = 1.5, S = 2.625
    # WD = 1 - 2 / 2.625 = 5 / 21;  dWD/dp_i = -2 w_i (g_i S - I) / S^2, S^2 = 6.890625
    p = _p()
    w = torch.tensor([1.0, 0.5, 0.5, 1.0])
    loss = weighted_dice_loss(p, torch.tensor(G), w, eps=0.0)
    loss.backward()
    assert loss.item() == pytest.approx(5 / 21, abs=1e-7)
    expected = torch.tensor([-3.25, 1.0, -1.625, 2.0]) / 6.890625
    torch.testing.assert_close(p.grad, expected, atol=1e-7, rtol=0)


def test_weighted_dice_with_unit_weights_is_dice() -> None:
    p, g = torch.rand(2, 1, 8, 8), (torch.rand(2, 1, 8, 8) > 0.7).float()
    torch.testing.assert_close(weighted_dice_loss(p, g, torch.ones_like(p)), dice_loss(p, g))


def _gt8() -> torch.Tensor:
    g = torch.zeros(1, 1, 8, 8)
    g[0, 0, 0, 0] = g[0, 0, 0, 1] = g[0, 0, 1, 1] = 1
    g[0, 0, 6:8, 6:8] = 1
    return g


def test_total_loss_modes_by_hand() -> None:
    # all logits 0 -> p = 0.5 everywhere; GT: 7 of 64 pixels.
    # Dice = 1 - 2 * 3.5 / (32 + 7) = 32/39.  With p = 1/2: WD = 1 - S_wg / (S_w / 2 + S_wg).
    # Step 4 puts all 7 wrinkle pixels at weight 1, so S_wg = 7 for every WWM.
    # WWM_2 (fill .875): S_w = 7 + 0.75 (pixel (1,0)) + 14 blocks * 4 * .875 = 56.75
    #   -> WD = 1 - 7 / 35.375 = 28.375 / 35.375
    # WWM_4 (fill 7/32): S_w = 7 + 13 * 3/16 + 12 * 4/16 + 32 * 7/32 = 19.4375
    #   -> WD = 1 - 7 / 16.71875 = 9.71875 / 16.71875
    # WWM_8 (7/64 everywhere, wrinkles 1): S_w = 7 + 57 * 7/64 = 13.234375
    #   -> WD = 1 - 7 / 13.6171875 = 6.6171875 / 13.6171875
    heads = [torch.zeros(1, 1, 8, 8) for _ in range(4)]
    g = _gt8()
    dice = 32 / 39
    assert DeepSupervisionLoss("plain", eps=0.0)(heads, g).item() == pytest.approx(dice, abs=1e-6)
    assert DeepSupervisionLoss("ds", eps=0.0)(heads, g).item() == pytest.approx(4 * dice, abs=1e-6)
    wds = dice + 28.375 / 35.375 + 9.71875 / 16.71875 + 6.6171875 / 13.6171875
    assert DeepSupervisionLoss("wds", eps=0.0)(heads, g).item() == pytest.approx(wds, abs=1e-6)


def test_total_loss_gradient_reaches_every_head() -> None:
    heads = [torch.randn(2, 1, 16, 16, requires_grad=True) for _ in range(4)]
    g = (torch.rand(2, 1, 16, 16) > 0.8).float()
    DeepSupervisionLoss("wds")(heads, g, torch.ones_like(g)).backward()
    assert all(h.grad is not None and h.grad.abs().sum() > 0 for h in heads)
    heads = [torch.randn(1, 1, 16, 16, requires_grad=True) for _ in range(4)]
    DeepSupervisionLoss("plain")(heads, g[:1]).backward()
    assert heads[0].grad is not None and all(h.grad is None for h in heads[1:])


def test_bad_mode() -> None:
    with pytest.raises(InvalidInputError, match="wds"):
        DeepSupervisionLoss("dice")  # type: ignore[arg-type]


# Two-class Dice (the reference code): softmax over 2 logits, mean of background and
# wrinkle Dice, WWM weighting both classes. Logits (0, ln 3) -> p1 = 3/4, (0, -ln 3) -> 1/4.
LN3 = float(torch.log(torch.tensor(3.0)))


def _two_logits() -> torch.Tensor:
    # N=1, C=2, H=1, W=2: pixel a = (0, ln 3), pixel b = (0, -ln 3)
    return torch.tensor([[[[0.0, 0.0]], [[LN3, -LN3]]]], requires_grad=True)


def test_two_class_dice_value_and_gradient() -> None:
    # g = [1, 0], p1 = [3/4, 1/4], p0 = [1/4, 3/4].
    # wrinkle: I = 3/4, S = 1 + 1 = 2 -> D1 = 1 - 1.5 / 2 = 1/4; background: the same, 1/4.
    # dD1/dp1 = -2 (g S - I) / S^2 = [-0.625, 0.375]; dD0/dp0 = [0.375, -0.625];
    # p0 = 1 - p1 -> dL/dp1 = (dD1/dp1 - dD0/dp0) / 2 = [-1/2, 1/2];
    # dp1/dl1 = -dp1/dl0 = p1 (1 - p1) = 3/16 -> dL/dl1 = [-3/32, 3/32], dL/dl0 = -dL/dl1.
    logits = _two_logits()
    g = torch.tensor([[[[1.0, 0.0]]]])
    loss = two_class_dice_loss(torch.softmax(logits, dim=1), g, eps=0.0)
    loss.backward()
    assert loss.item() == pytest.approx(0.25, abs=1e-7)
    expected = torch.tensor([[[[3 / 32, -3 / 32]], [[-3 / 32, 3 / 32]]]])
    torch.testing.assert_close(logits.grad, expected, atol=1e-7, rtol=0)


def test_two_class_weighted_dice_value_and_gradient() -> None:
    # w = [1, 1/2] on both classes.
    # wrinkle: I = 3/4, sum(wp1) = 7/8, sum(wg) = 1, S = 15/8 -> D1 = 1 - 1.5 / 1.875 = 1/5
    # background (q = [0, 1]): I = 3/8, sum(wp0) = 5/8, sum(wq) = 1/2, S = 9/8 -> D0 = 1/3
    # L = (1/5 + 1/3) / 2 = 4/15.
    # dWD/dp = -2 w (g S - I) / S^2: D1 -> [-16/25, 16/75], D0 -> [16/27, -16/27]
    # dL/dp1 = (dD1/dp1 - dD0/dp0) / 2 = [-416/675, 272/675]; x 3/16 -> [-26/225, 17/225]
    logits = _two_logits()
    g = torch.tensor([[[[1.0, 0.0]]]])
    w = torch.tensor([[[[1.0, 0.5]]]])
    loss = two_class_dice_loss(torch.softmax(logits, dim=1), g, w, eps=0.0)
    loss.backward()
    assert loss.item() == pytest.approx(4 / 15, abs=1e-7)
    d1 = torch.tensor([-26 / 225, 17 / 225])
    expected = torch.stack([-d1, d1])[None, :, None, :]
    torch.testing.assert_close(logits.grad, expected, atol=1e-7, rtol=0)


def test_two_class_matches_naive_formula_autograd() -> None:
    # independent reference: the per-class Dice written out with explicit loops over classes
    torch.manual_seed(3)
    logits = torch.randn(2, 2, 8, 8, requires_grad=True)
    g = (torch.rand(2, 1, 8, 8) > 0.7).float()
    w = torch.rand(2, 1, 8, 8)
    fov = (torch.rand(2, 1, 8, 8) > 0.2).float()
    ours = two_class_dice_loss(torch.softmax(logits, 1), g, w, fov, eps=0.0)
    (grad_ours,) = torch.autograd.grad(ours, logits)
    e = torch.exp(logits)
    p = e / e.sum(dim=1, keepdim=True)
    q = torch.cat([1 - g, g], dim=1)
    ww = w * fov
    dices = [
        1
        - 2
        * (ww[:, 0] * p[:, c] * q[:, c]).sum()
        / ((ww[:, 0] * p[:, c]).sum() + (ww[:, 0] * q[:, c]).sum())
        for c in (0, 1)
    ]
    naive = (dices[0] + dices[1]) / 2
    (grad_naive,) = torch.autograd.grad(naive, logits)
    torch.testing.assert_close(ours, naive, atol=1e-6, rtol=0)
    torch.testing.assert_close(grad_ours, grad_naive, atol=1e-6, rtol=0)


def test_total_loss_two_class_by_hand() -> None:
    # all logits 0 -> p0 = p1 = 1/2; GT8: 7 wrinkle, 57 background pixels.
    # wrinkle Dice 32/39 (as above); background: 1 - 57 / (32 + 57) = 32/89.
    # weighted, with p = 1/2: WD_c = 1 - S_wq / (S_w / 2 + S_wq), S_wq0 = S_w - 7:
    #   WWM_2: S_w = 56.75 -> WD0 = 28.375 / 78.125;   WD1 = 28.375 / 35.375
    #   WWM_4: S_w = 19.4375 -> WD0 = 9.71875 / 22.15625; WD1 = 9.71875 / 16.71875
    #   WWM_8: S_w = 13.234375 -> WD0 = 6.6171875 / 12.8515625; WD1 = 6.6171875 / 13.6171875
    heads = [torch.zeros(1, 2, 8, 8) for _ in range(4)]
    g = _gt8()
    f1 = (32 / 39 + 32 / 89) / 2
    loss = DeepSupervisionLoss("plain", eps=0.0, dice="two-class")
    assert loss(heads, g).item() == pytest.approx(f1, abs=1e-6)
    ds = DeepSupervisionLoss("ds", eps=0.0, dice="two-class")(heads, g).item()
    assert ds == pytest.approx(4 * f1, abs=1e-6)
    wds = f1 + 0.5 * (
        28.375 / 78.125 + 28.375 / 35.375 + 9.71875 / 22.15625 + 9.71875 / 16.71875
        + 6.6171875 / 12.8515625 + 6.6171875 / 13.6171875
    )  # fmt: skip
    got = DeepSupervisionLoss("wds", eps=0.0, dice="two-class")(heads, g).item()
    assert got == pytest.approx(wds, abs=1e-6)


def test_dice_kind_and_head_channels_must_agree() -> None:
    g = _gt8()
    with pytest.raises(InvalidInputError, match="2-channel logits"):
        DeepSupervisionLoss("wds", dice="two-class")([torch.zeros(1, 1, 8, 8)] * 4, g)
    with pytest.raises(InvalidInputError, match="1-channel logits"):
        DeepSupervisionLoss("wds")([torch.zeros(1, 2, 8, 8)] * 4, g)
    with pytest.raises(InvalidInputError, match="two-class"):
        DeepSupervisionLoss("wds", dice="multi")
