"""Weighted wrinkle map (WWM), Kim et al. 2023, Algorithm 1.

The WWM of scale ``s`` weights the deep-supervision head of the decoder at resolution
``1/s`` (D2 -> s = 2, D3 -> s = 4, D4 -> s = 8) in the weighted Dice loss (Eq. 4).
Algorithm 1 has four steps; the paper and the official code (``gen_wwm.py``, see
``shared/README.md``) both do all four:

1. **Block means.** Partition the binary ground truth ``G`` (H x W) into non-overlapping
   ``s x s`` blocks and average each one (average pooling): ``P[i, j]`` is the fraction of
   wrinkle pixels of block ``(i, j)``, a value in [0, 1] (H/s x W/s).
2. **Nearest upsampling** of ``P`` back to H x W: every pixel of a block carries the
   block's wrinkle fraction.
3. **Fill** the zero pixels (blocks without any wrinkle) with one value ``c``:

   * ``fill="nonzero_mean"`` (the official code, default): ``c`` = mean of the *non-zero*
     values (equal to the mean of the non-zero blocks of ``P``: every block has s^2 pixels);
   * ``fill="global_mean"`` (the paper's text): ``c`` = mean of *all* values
     (= the wrinkle fraction of the whole image).

4. **Wrinkle pixels at full weight:** set the map to 1 wherever ``G`` is 1. Without this
   step a wrinkle pixel alone in its block would keep weight ``1/s^2``: the thinnest
   wrinkles would count least, the opposite of the method's intent.

When ``G`` has no wrinkle pixel at all, both means are undefined / zero; we return an
all-ones map so the weighted Dice degenerates to the plain Dice instead of to 0 / 0.

Steps 2 and 3 commute (nearest upsampling copies values), so the implementation fills at
the low resolution, upsamples once and then applies Step 4 at full resolution. Every value
lies in [0, 1]; wrinkle pixels are exactly 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from wds_edge.errors import InvalidInputError

if TYPE_CHECKING:
    import torch

__all__ = ["FILL_POLICIES", "WWM_SCALES", "weighted_wrinkle_map", "weighted_wrinkle_map_torch"]

FILL_POLICIES = ("nonzero_mean", "global_mean")
#: Scales of the WWMs for the heads F2, F3, F4 (decoders D2, D3, D4).
WWM_SCALES = (2, 4, 8)
Fill = Literal["nonzero_mean", "global_mean"]


def _check_args(shape: tuple[int, ...], scale: int, fill: str) -> None:
    if fill not in FILL_POLICIES:
        raise InvalidInputError(f"fill must be one of {FILL_POLICIES}, got {fill!r}")
    if not isinstance(scale, (int, np.integer)) or isinstance(scale, bool) or scale < 1:
        raise InvalidInputError(f"scale must be a positive integer (2, 4 or 8), got {scale!r}")
    h, w = shape[-2], shape[-1]
    if h % scale or w % scale:
        raise InvalidInputError(
            f"ground truth of size {h}x{w} is not divisible by the WWM scale {scale}; "
            f"crop or pad it to a multiple of {scale} (training crops are multiples of 16)"
        )


def weighted_wrinkle_map(gt: np.ndarray, scale: int, fill: Fill = "nonzero_mean") -> np.ndarray:
    """Weighted wrinkle map of a binary ground truth (Algorithm 1, Steps 1-4).

    Step 1: mean of every ``s x s`` block of ``gt``; Step 2: nearest upsampling to H x W;
    Step 3: zero values replaced by the ``fill`` mean; Step 4: 1 wherever ``gt`` is 1
    (see the module docstring).

    Args:
        gt: binary ground truth, H x W, bool or 0/1 values (any numeric dtype).
        scale: block size ``s`` in pixels (2, 4, 8 for the heads of D2, D3, D4).
        fill: ``"nonzero_mean"`` (official code) or ``"global_mean"`` (paper text).

    Returns:
        float32 H x W weights in [0, 1], exactly 1 on the wrinkle pixels of ``gt``.

    Raises:
        InvalidInputError: ``gt`` not 2-D or not binary, H or W not divisible by ``scale``,
            unknown ``fill``.
    """
    g = np.asarray(gt)
    if g.ndim != 2:
        raise InvalidInputError(f"gt must be a 2-D H x W array, got shape {g.shape}")
    _check_args(g.shape, scale, fill)
    if g.dtype != bool and not np.isin(g, (0, 1)).all():
        raise InvalidInputError(
            "gt must be binary (bool or 0/1); binarize the mask first (e.g. mask > 127)"
        )
    h, w = g.shape
    s = int(scale)
    # Step 1: average pooling = fraction of wrinkle pixels per s x s block.
    pooled = g.astype(np.float64).reshape(h // s, s, w // s, s).mean(axis=(1, 3))
    # Step 3 (done at low resolution, equivalent after nearest upsampling).
    nonzero = pooled > 0
    if not nonzero.any():
        return np.ones((h, w), dtype=np.float32)
    fill_value = pooled[nonzero].mean() if fill == "nonzero_mean" else pooled.mean()
    pooled = np.where(nonzero, pooled, fill_value)
    # Step 2: nearest-neighbour upsampling back to H x W.
    wwm = np.repeat(np.repeat(pooled, s, axis=0), s, axis=1)
    # Step 4: every wrinkle pixel keeps full weight.
    wwm[g.astype(bool)] = 1.0
    return wwm.astype(np.float32)


def weighted_wrinkle_map_torch(
    gt_bchw: torch.Tensor, scale: int, fill: Fill = "nonzero_mean"
) -> torch.Tensor:
    """Batch version of :func:`weighted_wrinkle_map` on any torch device.

    Args:
        gt_bchw: binary ground truth, N x 1 x H x W (float / bool, values 0 or 1).
        scale: block size ``s`` (2, 4 or 8).
        fill: ``"nonzero_mean"`` or ``"global_mean"`` (per image of the batch).

    Returns:
        float32 N x 1 x H x W weights in [0, 1] (1 on wrinkle pixels), no gradient.
    """
    import torch
    import torch.nn.functional as F

    if gt_bchw.dim() != 4 or gt_bchw.shape[1] != 1:
        raise InvalidInputError(f"gt_bchw must be N x 1 x H x W, got {tuple(gt_bchw.shape)}")
    _check_args(tuple(gt_bchw.shape), scale, fill)
    s = int(scale)
    with torch.no_grad():
        g = gt_bchw.detach().float()
        pooled = F.avg_pool2d(g, kernel_size=s, stride=s)
        nonzero = pooled > 0
        count = nonzero.sum(dim=(1, 2, 3), keepdim=True)
        total = pooled.sum(dim=(1, 2, 3), keepdim=True)
        if fill == "nonzero_mean":
            fill_value = total / count.clamp(min=1)
        else:
            fill_value = total / pooled[0].numel()
        # An image without wrinkles gets all-ones weights (plain Dice), as in numpy.
        fill_value = torch.where(count > 0, fill_value, torch.ones_like(fill_value))
        pooled = torch.where(nonzero, pooled, fill_value.expand_as(pooled))
        pooled = torch.where(count > 0, pooled, torch.ones_like(pooled))
        wwm = F.interpolate(pooled, scale_factor=s, mode="nearest")  # Step 2
        return torch.where(g > 0, torch.ones_like(wwm), wwm)  # Step 4
