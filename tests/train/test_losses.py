"""Dice (Eq. 3), weighted Dice (Eq. 4), total loss (Eq. 5): values and gradients by hand."""

from __future__ import annotations

import pytest
import torch

from train.losses import DeepSupervisionLoss, dice_loss, weighted_dice_loss
from wds_edge.errors import InvalidInputError

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
