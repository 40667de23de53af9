"""Paper Eq. 1 texture map and input scaling as a torch module (for exported graphs / GPU).

:class:`InGraphPreprocess` turns float32 NCHW RGB in [0, 255] into the network's four
channels ``[R, G, B, T] / 255`` with exactly the arithmetic of
:func:`wds_edge.model.preprocessing.texture_map` (BT.601 luma in float, 21x21 Gaussian
with sigma 5 as two separable convolutions, reflect-101 border), so an exported model
that contains it matches the numpy path to float precision.
"""

from __future__ import annotations

import cv2
import torch
import torch.nn.functional as F
from torch import nn

from wds_edge.model.preprocessing import LUMA_WEIGHTS_RGB, TEXTURE_KSIZE, TEXTURE_SIGMA

__all__ = ["InGraphPreprocess"]


class InGraphPreprocess(nn.Module):
    """RGB [0, 255] (N x 3 x H x W) -> ``[R, G, B, T] / 255`` (N x 4 x H x W)."""

    def __init__(self, sigma: float = TEXTURE_SIGMA, ksize: int = TEXTURE_KSIZE) -> None:
        super().__init__()
        kernel = torch.from_numpy(cv2.getGaussianKernel(ksize, sigma).astype("float32")).flatten()
        self.pad = ksize // 2
        self.register_buffer("luma", torch.tensor(LUMA_WEIGHTS_RGB).view(1, 3, 1, 1))
        self.register_buffer("kernel_x", kernel.view(1, 1, 1, ksize))
        self.register_buffer("kernel_y", kernel.view(1, 1, ksize, 1))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        grey = (rgb * self.luma).sum(dim=1, keepdim=True)
        p = self.pad
        blurred = F.conv2d(F.pad(grey, (p, p, 0, 0), mode="reflect"), self.kernel_x)
        blurred = F.conv2d(F.pad(blurred, (0, 0, p, p), mode="reflect"), self.kernel_y)
        texture = torch.clamp((1.0 - grey / (1.0 + blurred)) * 255.0, 0.0, 255.0)
        return torch.cat([rgb, texture], dim=1) * (1.0 / 255.0)
