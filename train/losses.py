"""Dice (Eq. 3), weighted Dice (Eq. 4) and the deep-supervision total loss (Eq. 5).

All sums run over every pixel of the batch (one Dice per batch, not a mean of per-image
Dices): crops without any wrinkle are common and a per-image Dice of an empty crop is
unstable. A smoothing term ``eps`` (default :data:`DICE_EPS` = 1e-6) is added to the
numerator and denominator, so an empty prediction of an empty ground truth costs 0 and
the loss is always finite. Eq. 4 is used with a *single* factor 2 (the paper prints it
twice; that is a typo)::

    Dice(P, G)        = 1 - (2 sum(P G) + eps) / (sum(P) + sum(G) + eps)
    WDice(P, G, W)    = 1 - (2 sum(W P G) + eps) / (sum(W P) + sum(W G) + eps)
    L_wds             = Dice(F1, G) + sum_{i=2..4} WDice(F_i, G, WWM_{2^(i-1)})

An optional field-of-view / skin mask ``M`` multiplies every term, so pixels outside it
contribute nothing. ``M`` may be any non-negative per-pixel weight: the training data set
puts ``--zone-weight`` on hard-negative zones there (lid margins, brows, ...), where a
predicted wrinkle then enlarges ``sum(M P)`` that many times.

Two Dice kinds (``dice``), each on its own model output (:data:`wds_edge_train.model.DICE_KINDS`):

* ``"binary"``: one logit channel, ``P = sigmoid(logit)``, the wrinkle-class Dice above;
* ``"two-class"`` (the official code, ``multiclass=True, reduce_batch_first=True``): two
  logit channels, ``(P0, P1) = softmax(logits)``, targets ``(1 - G, G)``, and the loss is
  the mean of the background and wrinkle Dice losses, each pooled over the batch, the WWM
  (and the mask) weighting both classes::

      WDice2(P, G, W) = (WDice(P0, 1 - G, W) + WDice(P1, G, W)) / 2
"""

from __future__ import annotations

from typing import Literal

import torch

from wds_edge.errors import InvalidInputError
from wds_edge_train.model import DICE_KINDS
from wds_edge_train.wwm import WWM_SCALES, weighted_wrinkle_map_torch

__all__ = [
    "DICE_EPS",
    "LOSS_MODES",
    "dice_loss",
    "weighted_dice_loss",
    "two_class_dice_loss",
    "DeepSupervisionLoss",
]

DICE_EPS = 1e-6
LOSS_MODES = ("wds", "ds", "plain")
LossMode = Literal["wds", "ds", "plain"]


def dice_loss(
    prob: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    eps: float = DICE_EPS,
) -> torch.Tensor:
    """Dice loss (Eq. 3) of probabilities ``prob`` against a binary ``target``.

    Args:
        prob: probabilities in [0, 1], any shape (typically N x 1 x H x W).
        target: 0/1 ground truth, same shape.
        mask: optional 0/1 field-of-view mask, same shape.
        eps: smoothing added to numerator and denominator.

    Returns:
        scalar float32 tensor in [0, 1].
    """
    return weighted_dice_loss(prob, target, None, mask, eps)


def weighted_dice_loss(
    prob: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    mask: torch.Tensor | None = None,
    eps: float = DICE_EPS,
) -> torch.Tensor:
    """Weighted Dice loss (Eq. 4, single factor 2) with per-pixel weights ``weight``.

    ``weight`` None means all ones (then this is :func:`dice_loss`).
    """
    if prob.shape != target.shape:
        raise InvalidInputError(f"prob {tuple(prob.shape)} and target {tuple(target.shape)} differ")
    p = prob.float()
    g = target.float()
    w = torch.ones_like(p) if weight is None else weight.float()
    if mask is not None:
        w = w * mask.float()
    inter = (w * p * g).sum()
    denom = (w * p).sum() + (w * g).sum()
    return 1.0 - (2.0 * inter + eps) / (denom + eps)


def two_class_dice_loss(
    prob2: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    eps: float = DICE_EPS,
) -> torch.Tensor:
    """Mean of the background and wrinkle (weighted) Dice losses (the official loss).

    Args:
        prob2: softmax probabilities N x 2 x H x W (channel 0 background, 1 wrinkle).
        target: 0/1 wrinkle ground truth N x 1 x H x W.
        weight: per-pixel weights N x 1 x H x W (a WWM) applied to both classes; None = 1.
        mask: optional 0/1 field-of-view mask N x 1 x H x W.
        eps: smoothing added to each class's numerator and denominator.

    Returns:
        scalar float32 tensor in [0, 1].
    """
    if prob2.dim() != 4 or prob2.shape[1] != 2:
        raise InvalidInputError(f"prob2 must be N x 2 x H x W, got {tuple(prob2.shape)}")
    g = target.float()
    background = weighted_dice_loss(prob2[:, 0:1], 1.0 - g, weight, mask, eps)
    wrinkle = weighted_dice_loss(prob2[:, 1:2], g, weight, mask, eps)
    return 0.5 * (background + wrinkle)


class DeepSupervisionLoss(torch.nn.Module):
    """Total loss over the four heads (Eq. 5) in one of three modes.

    * ``plain``: Dice(F1, G) only.
    * ``ds``: Dice(F1, G) + sum of unweighted Dice(F_i, G), i = 2..4.
    * ``wds`` (the paper): Dice(F1, G) + sum of WDice(F_i, G, WWM_s), s = 2, 4, 8,
      WWMs computed here from the (already augmented) ground truth.

    ``dice`` picks the Dice of every term: ``"binary"`` (sigmoid, wrinkle Dice, heads
    N x 1 x H x W) or ``"two-class"`` (softmax, mean of background and wrinkle Dice,
    heads N x 2 x H x W).

    ``forward(heads, target, fov=None)`` takes the four logit maps, the 0/1 ground truth and
    an optional 0/1 field-of-view mask (both N x 1 x H x W) and returns a float32 scalar.
    """

    def __init__(
        self,
        mode: LossMode = "wds",
        fill: str = "nonzero_mean",
        eps: float = DICE_EPS,
        dice: str = "binary",
    ) -> None:
        super().__init__()
        if mode not in LOSS_MODES:
            raise InvalidInputError(f"loss mode must be one of {LOSS_MODES}, got {mode!r}")
        if dice not in DICE_KINDS:
            raise InvalidInputError(f"dice must be one of {tuple(DICE_KINDS)}, got {dice!r}")
        self.mode = mode
        self.fill = fill
        self.eps = eps
        self.dice = dice
        self.channels = DICE_KINDS[dice]

    def _term(
        self,
        prob: torch.Tensor,
        target: torch.Tensor,
        weight: torch.Tensor | None,
        fov: torch.Tensor | None,
    ) -> torch.Tensor:
        if self.channels == 2:
            return two_class_dice_loss(prob, target, weight, fov, self.eps)
        return weighted_dice_loss(prob, target, weight, fov, self.eps)

    def forward(
        self,
        heads: tuple[torch.Tensor, ...] | list[torch.Tensor],
        target: torch.Tensor,
        fov: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if len(heads) != 1 + len(WWM_SCALES) and self.mode != "plain":
            raise InvalidInputError(f"expected 4 heads (F1..F4), got {len(heads)}")
        bad = [tuple(h.shape) for h in heads if h.dim() != 4 or h.shape[1] != self.channels]
        if bad:
            raise InvalidInputError(
                f"--dice {self.dice} needs {self.channels}-channel logits, got {bad[0]}; "
                f"train and evaluate a model with out_channels={self.channels}"
            )
        # Losses in float32 even under autocast: fp16 sums over 640x640 pixels overflow.
        if self.channels == 2:
            probs = [torch.softmax(h.float(), dim=1) for h in heads]
        else:
            probs = [torch.sigmoid(h.float()) for h in heads]
        total = self._term(probs[0], target, None, fov)
        if self.mode == "plain":
            return total
        for prob, scale in zip(probs[1:], WWM_SCALES, strict=True):
            weight = None
            if self.mode == "wds":
                weight = weighted_wrinkle_map_torch(target, scale, self.fill)  # type: ignore[arg-type]
            total = total + self._term(prob, target, weight, fov)
        return total
