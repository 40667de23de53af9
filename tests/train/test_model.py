"""WrinkleUNet: head shapes, inference output, input checks."""

from __future__ import annotations

import pytest
import torch

from train.model import WrinkleUNet, count_parameters
from wds_edge.errors import InvalidInputError


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_head_shapes_train_mode(activation: str) -> None:
    net = WrinkleUNet(4, 8, activation).train()  # type: ignore[arg-type]
    heads = net(torch.rand(2, 4, 48, 64))
    assert isinstance(heads, tuple) and len(heads) == 4
    assert all(h.shape == (2, 1, 48, 64) for h in heads)


def test_eval_mode_returns_f1_probability() -> None:
    torch.manual_seed(0)
    net = WrinkleUNet(4, 8).eval()
    x = torch.rand(1, 4, 32, 32)
    with torch.no_grad():
        prob = net(x)
        f1 = net.forward_heads(x)[0]
    assert prob.shape == (1, 1, 32, 32)
    assert float(prob.min()) >= 0.0 and float(prob.max()) <= 1.0
    torch.testing.assert_close(prob, torch.sigmoid(f1))
    torch.testing.assert_close(net.forward_f1(x), f1)


def test_rejects_bad_sizes_and_channels() -> None:
    net = WrinkleUNet(4, 8)
    with pytest.raises(InvalidInputError, match="not divisible by 16"):
        net(torch.rand(1, 4, 40, 32))
    with pytest.raises(InvalidInputError, match="N x 4 x H x W"):
        net(torch.rand(1, 3, 32, 32))
    with pytest.raises(InvalidInputError, match="activation"):
        WrinkleUNet(4, 8, "gelu")  # type: ignore[arg-type]


def test_width_and_config_roundtrip() -> None:
    net = WrinkleUNet(4, 16, "relu")
    assert 1_000_000 < count_parameters(net) < 1_200_000
    assert WrinkleUNet(**net.config()).config() == net.config()
