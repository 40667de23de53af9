"""Deterministic synthetic face-skin crops for the ``auto`` probe's accuracy gate.

The SDK cannot ship face photos, yet a gate on blank or random images means nothing:
the model must produce wrinkles on the gate's inputs, or every precision "agrees" on an
empty mask. These images imitate what the network keys on in a kiosk crop: skin-toned,
smoothly shaded regions with pore-scale noise, crossed by thin, dark, curved lines of
1-3 px width and varied contrast (forehead lines, crow's feet, nasolabial folds). They
are drawn from a fixed seed, so every kiosk gates on the same pixels.

The accuracy gate itself checks that the FP32 reference finds wrinkles on them (see
:data:`~wds_edge.runtime.gate.MIN_REFERENCE_WRINKLE_FRACTION`: else its verdict is "not
gated"), and the ``auto`` probe then accepts only FP32 candidates.
That the synthetic gate separates good from bad reduced-precision paths the way real
crops do is tested against real kiosk crops (``tests/wds_edge/runtime``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.runtime.gate import MIN_REFERENCE_WRINKLE_FRACTION

__all__ = ["MIN_REFERENCE_WRINKLE_FRACTION", "SyntheticCrops", "synthetic_skin_crops"]

_SKIN_RGB = ((224, 172, 150), (198, 150, 120), (160, 112, 86), (236, 196, 174))


def _skin(rng: np.random.Generator, size_px: int, tone: tuple[int, int, int]) -> np.ndarray:
    """float32 HxWx3 RGB skin: tone x smooth shading + pore noise, in [0, 255]."""
    yy, xx = np.mgrid[0:size_px, 0:size_px].astype(np.float32) / size_px
    cy, cx = rng.uniform(0.3, 0.7, 2)
    shade = 0.78 + 0.22 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.18)
    pores = cv2.GaussianBlur(
        rng.normal(0.0, 7.0, (size_px, size_px)).astype(np.float32), (0, 0), 1.2
    )
    image = np.asarray(tone, np.float32)[None, None] * shade[..., None] + pores[..., None]
    return image


def _wrinkles(rng: np.random.Generator, size_px: int, count: int) -> np.ndarray:
    """float32 HxW darkening map (grey levels to subtract) of ``count`` thin curved lines."""
    dark = np.zeros((size_px, size_px), np.float32)
    scale = size_px / 640.0
    for _ in range(count):
        length = rng.uniform(0.15, 0.45) * size_px
        x0, y0 = (
            rng.uniform(0.05, 0.95 - length / size_px) * size_px,
            rng.uniform(0.1, 0.9) * size_px,
        )
        angle = rng.uniform(-0.6, 0.6) + (np.pi / 2 if rng.random() < 0.25 else 0.0)
        amp, wavelength = rng.uniform(2, 14) * scale, rng.uniform(80, 260) * scale
        t = np.linspace(0.0, length, max(int(length), 2))
        u = t
        v = amp * np.sin(2 * np.pi * t / wavelength + rng.uniform(0, 2 * np.pi))
        xs = x0 + u * np.cos(angle) - v * np.sin(angle)
        ys = y0 + u * np.sin(angle) + v * np.cos(angle)
        pts = np.stack([xs, ys], axis=1).round().astype(np.int32)[:, None]
        line = np.zeros_like(dark)
        cv2.polylines(
            line, [pts], False, 1.0, thickness=int(rng.integers(1, 4)), lineType=cv2.LINE_AA
        )
        dark += cv2.GaussianBlur(line, (0, 0), 0.8) * rng.uniform(25.0, 60.0)
    return dark


def synthetic_skin_crops(size_px: int, count: int = 4, seed: int = 12) -> list[np.ndarray]:
    """``count`` deterministic uint8 RGB ``size_px`` x ``size_px`` x 3 crops with wrinkle lines.

    Args:
        size_px: the model's input size in pixels (>= 16).
        count: number of images (>= 1).
        seed: random seed (the default is what ``auto`` uses; keep it for comparable caches).

    Raises:
        InvalidInputError: ``size_px`` < 16 or ``count`` < 1.
    """
    if size_px < 16 or count < 1:
        raise InvalidInputError(f"need size_px >= 16 and count >= 1, got {size_px}, {count}")
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(count):
        image = _skin(rng, size_px, _SKIN_RGB[i % len(_SKIN_RGB)])
        image -= _wrinkles(rng, size_px, int(rng.integers(14, 24)))[..., None]
        crops.append(np.clip(image, 0, 255).round().astype(np.uint8))
    return crops


class SyntheticCrops:
    """The synthetic skin crops as a gate's crop source (``CropSource`` of the TensorRT code).

    The gate input that ships with the SDK, for kiosks that have no held-out crops of their
    own (``wds-edge build-engine --held-out synthetic``, the Jetson image, ``auto``): a
    reduced-precision engine is compared with FP32 on these, and the gate counts only when
    the FP32 model finds wrinkles on them (the gate's "not gated" verdict,
    :func:`wds_edge.runtime.gate.reference_problem`).

    Args:
        size_px: the model's input size.
        count: number of crops.
        seed: random seed (the default is the one ``auto`` uses).
    """

    synthetic = True

    def __init__(self, size_px: int, count: int = 8, seed: int = 12) -> None:
        self._crops = synthetic_skin_crops(size_px, count, seed)
        self.path = Path(f"synthetic-skin-crops-{size_px}px-{count}-seed{seed}")
        digest = hashlib.sha256()
        for crop in self._crops:
            digest.update(crop.tobytes())
        self._sha256 = digest.hexdigest()

    @property
    def data_sha256(self) -> str:
        """sha256 of the crops' pixels."""
        return self._sha256

    def __len__(self) -> int:
        return len(self._crops)

    def batches(
        self, preprocessing: Any, batch_size: int = 1, limit: int | None = None
    ) -> Iterator[np.ndarray]:
        """float32 NCHW model inputs (``model_input`` for ``preprocessing``)."""
        from wds_edge.model.preprocessing import model_input

        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be positive, got {batch_size}")
        crops = self._crops[: len(self._crops) if limit is None else limit]
        for start in range(0, len(crops), batch_size):
            yield np.concatenate(
                [model_input(c, preprocessing) for c in crops[start : start + batch_size]]
            )
