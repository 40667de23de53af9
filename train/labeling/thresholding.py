"""Semi-automatic ground truth: masked texture (paper Eq. 2) and adaptive thresholding.

A rough annotation ``M`` (a stroke drawn over each wrinkle, or an automatic rough mask)
selects where to look; the texture map ``T`` (Eq. 1, :func:`~wds_edge.model.texture_map`)
says which pixels inside it are darker than their surroundings. Eq. 2 keeps the texture
only inside the rough annotation, ``T_M = T * M``; an adaptive threshold of ``T_M``
gives the binary ground truth.

Two thresholds, because the paper and its official code disagree:

* :attr:`ThresholdMethod.GAUSSIAN` - the official code's threshold rule: OpenCV's
  Gaussian adaptive threshold (block 11, C = 1) on the *inverted* masked texture
  ``255 - T_M`` (uint8). A pixel is wrinkle when it is at least C darker than the
  Gaussian-weighted mean of its 11 x 11 neighbourhood. ``T`` is Eq. 1's texture; the
  official code's uint8 texture differs by its wrap-around, so labels come close to the
  published data's without matching them.
* :attr:`ThresholdMethod.BRADLEY` - what the paper's text cites: Bradley & Roth (2007)
  on an integral image, a box mean over an ``s x s`` window (s about 1/8 of the image
  width) and t = 15 %, on the same inverted masked texture: a pixel is wrinkle when it
  is at least t darker than its box mean.

Outside ``M`` the inverted texture is 255, which is never darker than its
neighbourhood, so both thresholds keep the label inside the rough annotation.
"""

from __future__ import annotations

from enum import Enum

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import texture_map

__all__ = [
    "ThresholdMethod",
    "DEFAULT_THRESHOLD",
    "GAUSSIAN_BLOCK_PX",
    "GAUSSIAN_C",
    "BRADLEY_T",
    "parse_threshold",
    "binary_mask",
    "masked_texture",
    "inverted_masked_texture",
    "bradley_window_px",
    "bradley_roth_threshold",
    "gaussian_adaptive_threshold",
    "threshold_texture",
    "semi_automatic_label",
]

GAUSSIAN_BLOCK_PX = 11
GAUSSIAN_C = 1.0
BRADLEY_T = 0.15


class ThresholdMethod(str, Enum):
    """Adaptive threshold that turns the masked texture into a binary ground truth."""

    #: OpenCV Gaussian adaptive threshold, block 11, C = 1 (the official code).
    GAUSSIAN = "gaussian"
    #: Bradley-Roth integral-image threshold, window ~ width / 8, t = 15 % (the paper's text).
    BRADLEY = "bradley"


#: The default is the threshold rule the reference implementation actually ran. It is
#: applied to the texture of the paper's Eq. 1 (:func:`~wds_edge.model.texture_map`), not to
#: the official code's uint8 texture, whose wrap-around shifts it by about 2 grey levels:
#: labels made here are close to the published data's, not identical.
DEFAULT_THRESHOLD = ThresholdMethod.GAUSSIAN


def parse_threshold(method: ThresholdMethod | str) -> ThresholdMethod:
    """``"gaussian"`` / ``"bradley"`` (or the enum) -> :class:`ThresholdMethod`.

    Raises:
        InvalidInputError: any other name (the message lists the valid ones).
    """
    try:
        return ThresholdMethod(method)
    except ValueError:
        valid = ", ".join(m.value for m in ThresholdMethod)
        raise InvalidInputError(f"unknown threshold {method!r}; choose one of: {valid}") from None


def binary_mask(mask: np.ndarray, name: str = "mask") -> np.ndarray:
    """A rough annotation of any common encoding as a bool HxW array.

    Accepts bool, 0/1 or 0/255 integer masks (any non-zero value counts as inside),
    and HxWx3 / HxWx4 colour masks (inside where any colour channel is non-zero).

    Raises:
        InvalidInputError: not a 2-D or 3-D array.
    """
    m = np.asarray(mask)
    if m.ndim == 3:
        m = m[:, :, : min(3, m.shape[2])].max(axis=2)
    if m.ndim != 2:
        raise InvalidInputError(f"{name} must be an HxW (or HxWxC) mask, got shape {m.shape}")
    return m != 0


def masked_texture(texture: np.ndarray, rough_mask: np.ndarray) -> np.ndarray:
    """Paper Eq. 2: ``T_M = T * M``, the texture map kept only inside the rough annotation.

    Args:
        texture: float HxW texture map in [0, 255] (:func:`~wds_edge.model.texture_map`).
        rough_mask: HxW rough annotation (bool, 0/1 or 0/255; non-zero = inside).

    Returns:
        float32 HxW in [0, 255]: ``T`` inside the annotation, 0 outside.

    Raises:
        InvalidInputError: the shapes differ.
    """
    t = np.asarray(texture, dtype=np.float32)
    m = binary_mask(rough_mask, "rough_mask")
    if t.shape != m.shape:
        raise InvalidInputError(
            f"texture {t.shape} and rough mask {m.shape} must have the same height and width; "
            "draw the rough annotation on the image it belongs to"
        )
    return np.where(m, t, np.float32(0.0)).astype(np.float32)


def inverted_masked_texture(texture: np.ndarray, rough_mask: np.ndarray) -> np.ndarray:
    """``255 - round(T_M)`` as uint8: wrinkles dark, outside the annotation white (255).

    This is the image the official code hands to OpenCV's adaptive threshold (which needs
    uint8); both thresholds here work on it.
    """
    tm = masked_texture(texture, rough_mask)
    return (255 - np.clip(np.rint(tm), 0, 255).astype(np.uint8)).astype(np.uint8)


def bradley_window_px(width_px: int) -> int:
    """Bradley-Roth window side: the odd number closest to ``width_px / 8`` (at least 3)."""
    return max(3, 2 * int(round(width_px / 16.0)) + 1)


def bradley_roth_threshold(
    image: np.ndarray, window_px: int | None = None, t: float = BRADLEY_T
) -> np.ndarray:
    """Bradley-Roth adaptive threshold on an integral image (dark objects are foreground).

    A pixel is foreground when ``value * count <= sum * (1 - t)``, i.e. at least ``t``
    darker than the mean of the ``window_px x window_px`` box centred on it; near the
    border the box is clipped to the image and ``count`` is the number of pixels in it
    (Bradley & Roth 2007).

    Args:
        image: HxW grey image, any real dtype (uint8 inverted masked texture here).
        window_px: odd window side; default :func:`bradley_window_px` of the width.
        t: fraction in [0, 1) (paper: 0.15).

    Returns:
        bool HxW, True = foreground (dark relative to its box mean).
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2 or img.size == 0:
        raise InvalidInputError(f"image must be a non-empty HxW array, got shape {img.shape}")
    if not 0.0 <= t < 1.0:
        raise InvalidInputError(f"t must be a fraction in [0, 1), got {t}")
    h, w = img.shape
    s = bradley_window_px(w) if window_px is None else int(window_px)
    if s < 1 or s % 2 == 0:
        raise InvalidInputError(f"window_px must be a positive odd number, got {window_px}")
    half = s // 2
    integral = cv2.integral(img, sdepth=cv2.CV_64F)  # (h+1, w+1), integral[y, x] = sum img[:y, :x]
    ys = np.arange(h)
    xs = np.arange(w)
    y0 = np.clip(ys - half, 0, h)[:, None]
    y1 = np.clip(ys + half + 1, 0, h)[:, None]
    x0 = np.clip(xs - half, 0, w)[None, :]
    x1 = np.clip(xs + half + 1, 0, w)[None, :]
    box_sum = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    count = (y1 - y0) * (x1 - x0)
    return img * count <= box_sum * (1.0 - t)


def gaussian_adaptive_threshold(
    image_u8: np.ndarray, block_px: int = GAUSSIAN_BLOCK_PX, c: float = GAUSSIAN_C
) -> np.ndarray:
    """OpenCV's Gaussian adaptive threshold, dark objects as foreground.

    ``cv2.adaptiveThreshold(image, 255, ADAPTIVE_THRESH_GAUSSIAN_C, THRESH_BINARY_INV,
    block_px, c)``: foreground where the pixel is ``<= gaussian_mean - c`` (the mean is
    OpenCV's uint8 Gaussian blur with sigma from the block size, replicated border).

    Returns:
        bool HxW, True = foreground.
    """
    img = np.asarray(image_u8)
    if img.ndim != 2 or img.dtype != np.uint8 or img.size == 0:
        raise InvalidInputError(
            f"image must be a non-empty uint8 HxW array, got {img.dtype} {img.shape}"
        )
    if block_px < 3 or block_px % 2 == 0:
        raise InvalidInputError(f"block_px must be an odd number >= 3, got {block_px}")
    out = cv2.adaptiveThreshold(
        img, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY_INV, block_px, c
    )
    return out > 0


def threshold_texture(
    texture: np.ndarray,
    rough_mask: np.ndarray,
    method: ThresholdMethod | str = DEFAULT_THRESHOLD,
) -> np.ndarray:
    """Eq. 2 masking, then the adaptive threshold ``method`` -> bool HxW ground truth.

    The result is always inside ``rough_mask``.
    """
    mode = parse_threshold(method)
    inverted = inverted_masked_texture(texture, rough_mask)
    if mode is ThresholdMethod.GAUSSIAN:
        label = gaussian_adaptive_threshold(inverted)
    else:
        label = bradley_roth_threshold(inverted)
    return label & binary_mask(rough_mask)


def semi_automatic_label(
    image_rgb: np.ndarray,
    rough_mask: np.ndarray,
    method: ThresholdMethod | str = DEFAULT_THRESHOLD,
) -> np.ndarray:
    """Semi-automatic wrinkle ground truth of paper Sec. 3.3 (Fig. 3).

    Args:
        image_rgb: uint8 RGB HxWx3 image.
        rough_mask: HxW rough annotation (non-zero = near a wrinkle), same height / width.
        method: ``"gaussian"`` (official code) or ``"bradley"`` (paper text).

    Returns:
        bool HxW, True = wrinkle pixel; a subset of ``rough_mask``.

    Raises:
        InvalidInputError: wrong image type, or shapes that differ.
    """
    texture = texture_map(image_rgb)
    return threshold_texture(texture, rough_mask, method)
