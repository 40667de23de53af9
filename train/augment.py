"""Joint augmentation of image, label and FOV mask (OpenCV / numpy; no albumentations).

The paper augments with scale, shift, rotation, brightness, colour and flip. Geometry is
one affine warp applied to the image (bilinear) and to the masks (nearest, so labels stay
binary) with the same reflect-101 border, so label and image stay aligned; the WWMs are
computed later from the warped label. Photometric changes touch the image only and happen
before the texture channel is computed (the caller does that on the final crop).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError

__all__ = ["AugmentConfig", "augment_sample", "random_crop", "pad_to_multiple", "check_crop_size"]


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random augmentation (uniformly drawn per sample)."""

    scale_range: tuple[float, float] = (0.8, 1.25)
    shift_fraction: float = 0.1  # of the image size, each axis
    rotate_deg: float = 15.0
    brightness: float = 0.2  # multiplicative, 1 +- this
    colour: float = 0.1  # per-channel gain, 1 +- this
    hflip_probability: float = 0.5


def augment_sample(
    image_rgb: np.ndarray,
    mask: np.ndarray,
    fov: np.ndarray | None,
    rng: np.random.Generator,
    cfg: AugmentConfig | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Randomly flip, scale, shift, rotate, brighten and colour-shift a sample.

    Args:
        image_rgb: uint8 HxWx3 RGB.
        mask: bool HxW label.
        fov: bool HxW field-of-view mask or None.
        rng: numpy random generator (the caller seeds it per sample and epoch).
        cfg: ranges; defaults to :class:`AugmentConfig`.

    Returns:
        ``(image_rgb, mask, fov)`` of the same shapes and dtypes.
    """
    cfg = cfg or AugmentConfig()
    h, w = mask.shape
    if rng.random() < cfg.hflip_probability:
        image_rgb, mask = image_rgb[:, ::-1], mask[:, ::-1]
        fov = fov[:, ::-1] if fov is not None else None
    scale = float(np.exp(rng.uniform(*np.log(cfg.scale_range))))
    angle = float(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg))
    shift = rng.uniform(-cfg.shift_fraction, cfg.shift_fraction, size=2) * (w, h)
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, scale)
    matrix[:, 2] += shift
    border = cv2.BORDER_REFLECT_101

    def warp(a: np.ndarray, interp: int) -> np.ndarray:
        return cv2.warpAffine(
            np.ascontiguousarray(a), matrix, (w, h), flags=interp, borderMode=border
        )

    image = warp(image_rgb, cv2.INTER_LINEAR).astype(np.float32)
    mask_out = warp(mask.astype(np.uint8), cv2.INTER_NEAREST).astype(bool)
    fov_out = (
        warp(fov.astype(np.uint8), cv2.INTER_NEAREST).astype(bool) if fov is not None else None
    )
    gain = rng.uniform(1 - cfg.brightness, 1 + cfg.brightness)
    gain = gain * rng.uniform(1 - cfg.colour, 1 + cfg.colour, size=3)
    image = np.clip(image * gain.astype(np.float32), 0, 255).round().astype(np.uint8)
    return image, mask_out, fov_out


def check_crop_size(crop_size: int) -> None:
    """Raise :class:`InvalidInputError` unless ``crop_size`` is a positive multiple of 16."""
    if crop_size < 16 or crop_size % 16:
        lower = max(16, crop_size // 16 * 16)
        raise InvalidInputError(
            f"crop size {crop_size} px is not a positive multiple of 16 (the U-Net pools four "
            f"times); use e.g. {lower} or {lower + 16}"
        )


def _pad(a: np.ndarray, bottom: int, right: int) -> np.ndarray:
    if bottom == 0 and right == 0:
        return a
    pad = [(0, bottom), (0, right)] + [(0, 0)] * (a.ndim - 2)
    # numpy "reflect" = OpenCV reflect-101 (edge pixel not repeated); it repeats the
    # reflection for pads larger than the image. A 1-pixel axis cannot reflect: replicate.
    mode = "reflect" if min(a.shape[:2]) > 1 else "edge"
    return np.pad(a, pad, mode=mode)


def pad_to_multiple(a: np.ndarray, multiple: int = 16) -> np.ndarray:
    """Reflect-pad an HxW[xC] array at the bottom / right to multiples of ``multiple``."""
    h, w = a.shape[:2]
    return _pad(a, -h % multiple, -w % multiple)


def random_crop(
    image_rgb: np.ndarray,
    mask: np.ndarray,
    fov: np.ndarray | None,
    crop_size: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Cut the same random ``crop_size`` square from image, mask and FOV.

    Images smaller than the crop are reflect-padded at the bottom / right first.
    """
    check_crop_size(crop_size)
    h, w = mask.shape
    bottom, right = max(0, crop_size - h), max(0, crop_size - w)
    image_rgb, mask = _pad(image_rgb, bottom, right), _pad(mask, bottom, right)
    fov = _pad(fov, bottom, right) if fov is not None else None
    h, w = mask.shape
    y = int(rng.integers(0, h - crop_size + 1))
    x = int(rng.integers(0, w - crop_size + 1))
    window = (slice(y, y + crop_size), slice(x, x + crop_size))
    return (
        np.ascontiguousarray(image_rgb[window]),
        np.ascontiguousarray(mask[window]),
        np.ascontiguousarray(fov[window]) if fov is not None else None,
    )
