"""WrinkleUNet: head shapes, inference output, input checks."""

from __future__ import annotations

import pytest
import torch

from wds_edge.errors import InvalidInputError
from wds_edge_train.model import (
    WrinkleUNet,
    count_parameters,
    dice_for,
    out_channels_for,
    wrinkle_probability,
)


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


def test_two_class_heads_and_softmax_probability() -> None:
    torch.manual_seed(0)
    net = WrinkleUNet(4, 8, out_channels=2).train()
    x = torch.rand(2, 4, 32, 48)
    heads = net(x)
    assert all(h.shape == (2, 2, 32, 48) for h in heads)
    net.eval()
    with torch.no_grad():
        prob = net(x)
        f1 = net.forward_f1(x)
    assert prob.shape == (2, 1, 32, 48)
    # softmax channel 1 of two logits = exp(l1) / (exp(l0) + exp(l1)), written out
    e0, e1 = torch.exp(f1[:, 0:1]), torch.exp(f1[:, 1:2])
    torch.testing.assert_close(prob, e1 / (e0 + e1))
    assert net.config()["out_channels"] == 2


def test_dice_kinds_and_bad_out_channels() -> None:
    assert out_channels_for("binary") == 1 and out_channels_for("two-class") == 2
    assert dice_for(1) == "binary" and dice_for(2) == "two-class"
    with pytest.raises(InvalidInputError, match="out_channels must be 1 or 2"):
        WrinkleUNet(4, 8, out_channels=3)
    with pytest.raises(InvalidInputError, match="two-class"):
        out_channels_for("softmax")
    with pytest.raises(InvalidInputError, match="1 or 2 logit channels"):
        wrinkle_probability(torch.zeros(1, 3, 4, 4))


def test_space_to_depth_stem_wiring() -> None:
    """Issue 25's stem: 2 x 2 blocks in, the F1 head's four logits back to their pixels."""
    model = WrinkleUNet(4, 4, stem="space_to_depth").eval()
    assert model.inc[0].in_channels == 16 and model.head1.out_channels == 4
    assert WrinkleUNet(**model.config()).stem == "space_to_depth"
    # the input side: channel k's pixel (2i + a, 2j + b) becomes channel 4k + 2a + b at (i, j)
    yy, xx = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    offset = (yy % 2) * 2 + (xx % 2)
    x = torch.stack([10.0 * k + offset for k in range(4)])[None].float()
    half = model._check_input(x)
    assert half.shape == (1, 16, 32, 32)
    for k in range(4):
        for block in range(4):
            assert torch.all(half[0, 4 * k + block] == 10.0 * k + block)
    # the output side: logit channel 2a + b of a half-resolution pixel lands at (2i+a, 2j+b)
    with torch.no_grad():
        model.head1.weight.zero_()
        model.head1.bias.copy_(torch.tensor([0.0, 1.0, 2.0, 3.0]))
        logits = model.forward_f1(torch.rand(1, 4, 64, 64))
    assert logits.shape == (1, 1, 64, 64)
    assert torch.equal(logits[0, 0], offset.float())
    model.train()
    assert all(h.shape == (1, 1, 64, 64) for h in model(torch.rand(1, 4, 64, 64)))


def test_stem_refuses_what_it_cannot_run() -> None:
    with pytest.raises(InvalidInputError, match="stem must be one of"):
        WrinkleUNet(4, 8, stem="patchify")
    with pytest.raises(InvalidInputError, match="not divisible by 32"):
        WrinkleUNet(4, 8, stem="space_to_depth")(torch.rand(1, 4, 48, 48))
