"""The module that gets exported: optional in-graph preprocessing, then the F1 probability.

Shared by :mod:`wds_edge_export.onnx_export` (what it traces) and :mod:`wds_edge_export.parity`
(the PyTorch
side of the comparison), so neither imports the other's internals.

Graph (texture map inside, the default)::

    "image" float32 (N, 3, S, S) RGB [0, 255]
      -> wds_edge_train.texture.InGraphPreprocess  ([R, G, B, T] / 255, paper Eq. 1)
      -> WrinkleUNet.forward_f1           (N, C, S, S) logits, C = 1 or 2
      -> sigmoid (C = 1) | softmax over C, channel 1 (C = 2)
    "wrinkle_prob" float32 (N, 1, S, S) in [0, 1]
"""

from __future__ import annotations

import torch
from torch import nn

from wds_edge_train.model import WrinkleUNet, wrinkle_probability
from wds_edge_train.texture import InGraphPreprocess

__all__ = ["INPUT_NAME", "OUTPUT_NAME", "InferenceGraph"]

INPUT_NAME = "image"
OUTPUT_NAME = "wrinkle_prob"


class InferenceGraph(nn.Module):
    """What gets exported: optional in-graph preprocessing, then the F1 wrinkle probability.

    Args:
        model: the trained network (1 or 2 output channels).
        texture_in_graph: input RGB [0, 255] with Eq. 1 computed inside (True), or the
            host-built 4-channel ``[R, G, B, T] / 255`` tensor (False).

    ``forward(image)`` returns float32 N x 1 x H x W in [0, 1] for either output kind.
    """

    def __init__(self, model: WrinkleUNet, texture_in_graph: bool = True) -> None:
        super().__init__()
        self.preprocess: nn.Module = InGraphPreprocess() if texture_in_graph else nn.Identity()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return wrinkle_probability(self.model.forward_f1(self.preprocess(image)))
