"""U-Net with deep-supervision heads (milesial/Pytorch-UNet layout, bilinear upsampling).

Kim et al. 2023, Fig. 2: four decoders D4 (1/8 resolution) ... D1 (full resolution);
each has a 1x1-conv head F4 ... F1 whose logits are upsampled bilinearly to the
input size so every head is compared with the ground truth at full resolution.
Width is ``base_channels`` (64 = the paper, about 17 M parameters).

Two output kinds (``out_channels``), chosen by the training loss's Dice
(:data:`DICE_KINDS`, ``wds-edge train --dice``):

* ``1`` (``dice="binary"``): one wrinkle logit per pixel, probability = sigmoid;
* ``2`` (``dice="two-class"``, the official code): background and wrinkle logits,
  probability = softmax over the two channels, channel 1.

Either way the eval-mode output (and the exported graph) is the wrinkle probability,
N x 1 x H x W in [0, 1].

Stem (``stem``, :data:`STEMS`; a speed variant of issue 25, not the paper's network):
``none`` is the paper's U-Net, whose first and last double convolutions run at full
resolution with ``base_channels`` channels. ``space_to_depth`` rearranges each 2 x 2 pixel
block of the four input channels into 16 channels at half resolution (lossless,
``F.pixel_unshuffle``), runs the same U-Net there, and turns the F1 head's four logits per
half-resolution pixel back into the 2 x 2 full-resolution block (``F.pixel_shuffle``): no
3 x 3 convolution runs at full resolution any more. The heads then sit at 1/2 (D1, F1 made
full-size by the shuffle), 1/4, 1/8 and 1/16; each is still compared with the ground truth at
full resolution, F2..F4 paired with the WWM block sizes as in the paper. On an AMX CPU the
narrow full-resolution layers ran at a fifth of the GEMM rate (``benchmarks/RESULTS.md``).

Input normalisation (``input_norm``, :data:`INPUT_NORMS`) is the network's first operation, so
it travels inside every exported graph and no runtime can feed a model the wrong scale:
``unit`` takes ``[R, G, B, T] / 255`` as it is (the project's default), ``centred`` maps it to
``(x - 0.5) / 0.25`` on all four channels (the official code's normalisation).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from wds_edge.errors import InvalidInputError

__all__ = [
    "WrinkleUNet",
    "ACTIVATIONS",
    "BASE_CHANNEL_CHOICES",
    "DICE_KINDS",
    "INPUT_NORMS",
    "STEMS",
    "size_multiple",
    "count_parameters",
    "out_channels_for",
    "dice_for",
    "wrinkle_probability",
]

ACTIVATIONS = ("relu", "leaky_relu")
BASE_CHANNEL_CHOICES = (8, 16, 32, 64)
Activation = Literal["relu", "leaky_relu"]
#: Dice kinds of the loss and the number of logit channels each one trains.
DICE_KINDS = {"binary": 1, "two-class": 2}
#: Input normalisations: name -> (mean, std) applied to every channel of ``[R, G, B, T] / 255``.
INPUT_NORMS = {"unit": (0.0, 1.0), "centred": (0.5, 0.25)}
#: Stems: name -> the factor the U-Net's input is shrunk by (see the module docstring).
STEMS = {"none": 1, "space_to_depth": 2}
#: The U-Net pools four times: its input side must divide by 2**4.
POOL_MULTIPLE = 16


def size_multiple(stem: str) -> int:
    """The multiple an input side must be for ``stem``: 16, or 32 with ``space_to_depth``
    (it halves the image before the U-Net pools four times)."""
    if stem not in STEMS:
        raise InvalidInputError(f"stem must be one of {tuple(STEMS)}, got {stem!r}")
    return POOL_MULTIPLE * STEMS[stem]


def out_channels_for(dice: str) -> int:
    """Logit channels of the model a ``dice`` kind trains (binary 1, two-class 2)."""
    if dice not in DICE_KINDS:
        raise InvalidInputError(f"dice must be one of {tuple(DICE_KINDS)}, got {dice!r}")
    return DICE_KINDS[dice]


def dice_for(out_channels: int) -> str:
    """Inverse of :func:`out_channels_for`."""
    for name, n in DICE_KINDS.items():
        if n == out_channels:
            return name
    raise InvalidInputError(f"out_channels must be 1 or 2, got {out_channels!r}")


def wrinkle_probability(logits: torch.Tensor) -> torch.Tensor:
    """Wrinkle probability N x 1 x H x W in [0, 1] from N x C x H x W logits.

    C = 1: sigmoid; C = 2: softmax over the channels, channel 1 (wrinkle).
    """
    if logits.shape[1] == 1:
        return torch.sigmoid(logits)
    if logits.shape[1] == 2:
        return torch.softmax(logits, dim=1)[:, 1:2]
    raise InvalidInputError(f"expected 1 or 2 logit channels, got {tuple(logits.shape)}")


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "leaky_relu":
        return nn.LeakyReLU(0.01, inplace=True)
    raise InvalidInputError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


class DoubleConv(nn.Sequential):
    """(conv 3x3 -> BN -> activation) x 2."""

    def __init__(self, in_ch: int, out_ch: int, mid_ch: int | None, activation: str) -> None:
        mid = mid_ch or out_ch
        super().__init__(
            nn.Conv2d(in_ch, mid, 3, padding=1, bias=False),
            nn.BatchNorm2d(mid),
            _activation(activation),
            nn.Conv2d(mid, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            _activation(activation),
        )


class Down(nn.Sequential):
    """Max-pool by 2, then DoubleConv."""

    def __init__(self, in_ch: int, out_ch: int, activation: str) -> None:
        super().__init__(nn.MaxPool2d(2), DoubleConv(in_ch, out_ch, None, activation))


class Up(nn.Module):
    """Bilinear x2 upsampling, concatenation with the skip, DoubleConv."""

    def __init__(self, in_ch: int, out_ch: int, activation: str) -> None:
        super().__init__()
        self.conv = DoubleConv(in_ch, out_ch, in_ch // 2, activation)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=True)
        return self.conv(torch.cat([skip, x], dim=1))


class WrinkleUNet(nn.Module):
    """U-Net with deep-supervision heads F1..F4.

    Input: float32 NCHW, ``in_channels`` (4: ``[R, G, B, T] / 255``), H and W divisible by 16
    (32 with the ``space_to_depth`` stem); the model normalises it itself (``input_norm``).

    * ``model.train()``: ``forward`` returns a tuple of four logit maps
      ``(F1, F2, F3, F4)``, each N x C x H x W with C = ``out_channels`` (F2..F4
      upsampled from 1/2, 1/4, 1/8).
    * ``model.eval()``: ``forward`` returns only the F1 wrinkle probability,
      N x 1 x H x W in [0, 1] (:func:`wrinkle_probability`; this is what gets exported).
    * :meth:`forward_heads` always returns the four logit maps.
    """

    def __init__(
        self,
        in_channels: int = 4,
        base_channels: int = 64,
        activation: Activation = "leaky_relu",
        out_channels: int = 1,
        input_norm: str = "unit",
        stem: str = "none",
    ) -> None:
        super().__init__()
        #: the side multiple an input must have (16, 32 with the space_to_depth stem)
        self.size_multiple = size_multiple(stem)
        if base_channels < 1:
            raise InvalidInputError(f"base_channels must be positive, got {base_channels}")
        if input_norm not in INPUT_NORMS:
            raise InvalidInputError(
                f"input_norm must be one of {tuple(INPUT_NORMS)}, got {input_norm!r}"
            )
        self.input_norm = input_norm
        _activation(activation)  # validate early, with the list of choices
        dice_for(out_channels)  # 1 or 2, with the list of choices
        self.out_channels = out_channels
        b = base_channels
        c = out_channels
        self.in_channels = in_channels
        self.base_channels = base_channels
        self.activation = activation
        self.stem = stem
        #: the U-Net runs at 1 / factor of the input resolution
        self.factor = f = STEMS[stem]
        self.inc = DoubleConv(in_channels * f * f, b, None, activation)
        self.down1 = Down(b, 2 * b, activation)
        self.down2 = Down(2 * b, 4 * b, activation)
        self.down3 = Down(4 * b, 8 * b, activation)
        self.down4 = Down(8 * b, 8 * b, activation)  # 16b // 2: bilinear factor
        self.up1 = Up(16 * b, 4 * b, activation)  # D4, 1/8
        self.up2 = Up(8 * b, 2 * b, activation)  # D3, 1/4
        self.up3 = Up(4 * b, b, activation)  # D2, 1/2
        self.up4 = Up(2 * b, b, activation)  # D1, full
        self.head1 = nn.Conv2d(b, c * f * f, 1)  # c logits per full-resolution pixel
        self.head2 = nn.Conv2d(b, c, 1)
        self.head3 = nn.Conv2d(2 * b, c, 1)
        self.head4 = nn.Conv2d(4 * b, c, 1)

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        """Validate the input and apply the input normalisation (nothing for ``unit``)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise InvalidInputError(
                f"expected an N x {self.in_channels} x H x W tensor, got {tuple(x.shape)}"
            )
        h, w = int(x.shape[-2]), int(x.shape[-1])
        m = self.size_multiple
        if h % m or w % m:
            why = "the U-Net pools four times" + (
                f" after the {self.stem} stem halves it" if self.factor > 1 else ""
            )
            raise InvalidInputError(
                f"input size {h}x{w} is not divisible by {m} ({why}); "
                f"resize or pad to e.g. {max(m, h // m * m)}x{max(m, w // m * m)}"
            )
        if self.input_norm != "unit":  # unit: no operation, graphs stay as they were
            mean, std = INPUT_NORMS[self.input_norm]
            x = (x - mean) * (1.0 / std)
        return F.pixel_unshuffle(x, self.factor) if self.factor > 1 else x

    def _head1(self, d1: torch.Tensor) -> torch.Tensor:
        """F1 logits at the input's resolution (the stem's 2 x 2 blocks unfolded)."""
        logits = self.head1(d1)
        return F.pixel_shuffle(logits, self.factor) if self.factor > 1 else logits

    def forward_heads(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The four deep-supervision logit maps (F1, F2, F3, F4), all N x C x H x W."""
        size = x.shape[-2:]
        x = self._check_input(x)
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        d4 = self.up1(x5, x4)
        d3 = self.up2(d4, x3)
        d2 = self.up3(d3, x2)
        d1 = self.up4(d2, x1)

        def full(t: torch.Tensor) -> torch.Tensor:
            return F.interpolate(t, size=size, mode="bilinear", align_corners=False)

        return (
            self._head1(d1),
            full(self.head2(d2)),
            full(self.head3(d3)),
            full(self.head4(d4)),
        )

    def forward_f1(self, x: torch.Tensor) -> torch.Tensor:
        """F1 logits only (skips the F2..F4 heads: what inference needs)."""
        x = self._check_input(x)
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        d1 = self.up4(self.up3(self.up2(self.up1(x5, x4), x3), x2), x1)
        return self._head1(d1)

    def forward(self, x: torch.Tensor):  # noqa: ANN201 - return type depends on mode
        if self.training:
            return self.forward_heads(x)
        return wrinkle_probability(self.forward_f1(x))

    def config(self) -> dict[str, object]:
        """Constructor arguments, to rebuild the model from a checkpoint."""
        return {
            "in_channels": self.in_channels,
            "base_channels": self.base_channels,
            "activation": self.activation,
            "out_channels": self.out_channels,
            "input_norm": self.input_norm,
            "stem": self.stem,
        }


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
