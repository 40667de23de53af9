"""A small U-Net with meaningful output for quantization tests and CPU benchmarks.

A randomly initialised U-Net gives near-constant probabilities around 0.5, so mask
IoU between FP32 and INT8 is meaningless for it. When no trained checkpoint is at
hand, :func:`train_texture_proxy` trains a :class:`WrinkleUNet` for a few dozen Adam
steps on real face crops to reproduce a classic, training-free wrinkle detector:
the pixels whose texture map (paper Eq. 1) is in the top ``top_fraction`` of the crop.
The result is a real trained network with confident, structured masks (thin dark
lines), which is what the INT8 gate needs to measure; it is *not* a wrinkle model of
the paper's quality and is never shipped.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from wds_edge.errors import InvalidInputError
from wds_edge.io import write_bytes_atomic
from wds_edge.model.preprocessing import network_channels, texture_map
from wds_edge_train.model import WrinkleUNet

__all__ = ["texture_proxy_target", "train_texture_proxy"]

logger = logging.getLogger(__name__)


def texture_proxy_target(crop_rgb: np.ndarray, top_fraction: float = 0.1) -> np.ndarray:
    """bool HxW: pixels whose Eq. 1 texture value is in the crop's top ``top_fraction``."""
    texture = texture_map(crop_rgb)
    return texture >= np.quantile(texture, 1.0 - top_fraction)


def train_texture_proxy(
    crops_rgb: Sequence[np.ndarray],
    *,
    base_channels: int = 8,
    steps: int = 60,
    batch_size: int = 2,
    lr: float = 0.01,
    seed: int = 0,
    cache_dir: str | Path | None = None,
) -> WrinkleUNet:
    """Train a WrinkleUNet (F1 head, BCE + Dice) on :func:`texture_proxy_target` masks.

    Args:
        crops_rgb: uint8 RGB square face crops, H and W multiples of 16.
        base_channels: U-Net width.
        steps: Adam steps.
        batch_size: crops per step (random horizontal flips).
        lr: Adam learning rate.
        seed: torch / numpy seed (the result is deterministic on one machine).
        cache_dir: keep the trained weights here, keyed by a hash of the crops and the
            arguments, and reuse them on the next call (tests train once per machine).

    Returns:
        The trained model in eval mode.
    """
    if not crops_rgb:
        raise InvalidInputError("train_texture_proxy needs at least one face crop")
    key = hashlib.sha256(repr((base_channels, steps, batch_size, lr, seed)).encode())
    for crop in crops_rgb:
        key.update(np.ascontiguousarray(crop).tobytes())
    cached = Path(cache_dir) / f"proxy-{key.hexdigest()[:16]}.pt" if cache_dir else None
    if cached is not None and cached.is_file():
        model = WrinkleUNet(base_channels=base_channels)
        model.load_state_dict(torch.load(cached, map_location="cpu", weights_only=True))
        return model.eval()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_all = torch.from_numpy(np.stack([network_channels(c) for c in crops_rgb])).permute(0, 3, 1, 2)
    y_all = torch.from_numpy(
        np.stack([texture_proxy_target(c) for c in crops_rgb])[:, None]
    ).float()
    model = WrinkleUNet(base_channels=base_channels)
    optim = torch.optim.Adam(model.parameters(), lr=lr)
    bce = torch.nn.BCEWithLogitsLoss()
    model.train()
    for step in range(steps):
        idx = rng.choice(len(crops_rgb), size=min(batch_size, len(crops_rgb)), replace=False)
        x, y = x_all[idx], y_all[idx]
        if rng.random() < 0.5:
            x, y = x.flip(-1), y.flip(-1)
        logits = model.forward_f1(x)
        prob = torch.sigmoid(logits)
        dice = 1 - (2 * (prob * y).sum() + 1) / (prob.sum() + y.sum() + 1)
        loss = bce(logits, y) + dice
        optim.zero_grad()
        loss.backward()
        optim.step()
        if step % 20 == 0:
            logger.info("proxy step %d loss %.4f", step, loss.item())
    if cached is not None:
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        write_bytes_atomic(cached, buffer.getvalue())
    return model.eval()
