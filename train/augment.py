"""Joint augmentation of image, label and FOV mask (OpenCV / numpy; no albumentations).

Four profiles (:data:`AUGMENT_PROFILES`, ``wds-edge train --augment``):

* ``none``: no augmentation (random crops only);
* ``official``: what the official training code does: horizontal flip and a colour jitter
  (brightness, contrast, saturation, hue, each +-0.2, half of the samples), no geometry; its
  texture map is computed from the photo beforehand, so the jitter never reaches it
  (:func:`official_augment` returns the unjittered image for the texture);
* ``paper``: what the paper's Section 4 lists: random flip, scale, shift, rotation,
  brightness and colour (per-channel gain);
* ``kiosk``: ``paper`` plus what a kiosk camera does to a face (small face, blur, white
  balance, exposure / gamma, grey sensor, noise, JPEG): for face photos, never for other
  data (retina images have no white balance to learn).

Geometry is one affine warp applied to the image (bilinear) and to the masks (nearest, so
labels stay binary) with the same reflect-101 border, so label and image stay aligned; the
WWMs are computed later from the warped label. Photometric changes touch the image only and
happen before the texture channel is computed (the caller does that on the final crop;
``official``: on the unjittered crop).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError

__all__ = [
    "AUGMENT_PROFILES",
    "AugmentConfig",
    "colour_jitter",
    "augment_sample",
    "official_augment",
    "kiosk_photometric",
    "white_balance",
    "exposure_gamma",
    "to_grey",
    "jpeg_roundtrip",
    "sensor_noise",
    "gaussian_blur",
    "downscale_upsample",
    "random_crop",
    "pad_to_multiple",
    "check_crop_size",
]


#: The augmentation profiles, weakest first (see the module docstring).
AUGMENT_PROFILES = ("none", "official", "paper", "kiosk")


@dataclass(frozen=True)
class AugmentConfig:
    """The profile and the ranges of the random augmentation (uniformly drawn per sample)."""

    profile: str = "kiosk"
    scale_range: tuple[float, float] = (0.8, 1.25)
    shift_fraction: float = 0.1  # of the image size, each axis
    rotate_deg: float = 15.0
    brightness: float = 0.2  # multiplicative, 1 +- this
    colour: float = 0.1  # per-channel gain, 1 +- this
    hflip_probability: float = 0.5
    # What a kiosk camera does to a face (issue 16); each step has its own probability.
    #: A small face blown up to the crop: downscale by a factor in this range, upsample back.
    small_face_probability: float = 0.3
    small_face_factor: tuple[float, float] = (0.3, 0.8)
    #: Colour temperature: R x exp(t), B x exp(-t), t uniform in +- this (0.5: about x1.65).
    white_balance_probability: float = 0.5
    white_balance_log_gain: float = 0.5
    #: Exposure gain and gamma (output = 255 * (gain * x / 255) ** gamma).
    exposure_probability: float = 0.5
    exposure_range: tuple[float, float] = (0.6, 1.5)
    gamma_range: tuple[float, float] = (0.7, 1.4)
    #: A mono / IR camera: the grey image in all three channels.
    grey_probability: float = 0.15
    #: Sensor noise: Gaussian read noise of this many grey levels (+ shot noise).
    noise_probability: float = 0.3
    noise_sigma_range: tuple[float, float] = (1.0, 6.0)
    #: Mild defocus / motion blur (Gaussian sigma in px of the 640 crop).
    blur_probability: float = 0.2
    blur_sigma_range: tuple[float, float] = (0.3, 1.2)
    #: JPEG compression of a streaming camera.
    jpeg_probability: float = 0.3
    jpeg_quality_range: tuple[int, int] = (30, 90)
    #: ``official`` profile: albumentations' ColorJitter defaults (each factor +- 0.2 or, for
    #: the hue, +- 0.2 of a turn), applied to this share of the samples.
    jitter_probability: float = 0.5
    jitter: float = 0.2
    jitter_hue: float = 0.2

    def __post_init__(self) -> None:
        if self.profile not in AUGMENT_PROFILES:
            raise InvalidInputError(
                f"augmentation profile must be one of {AUGMENT_PROFILES}, got {self.profile!r}"
            )


def augment_sample(
    image_rgb: np.ndarray,
    mask: np.ndarray,
    fov: np.ndarray | None,
    rng: np.random.Generator,
    cfg: AugmentConfig | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Randomly augment a sample as its profile says (module docstring).

    ``paper`` and ``kiosk``: flip, scale, shift, rotate, brighten and colour-shift
    (``kiosk`` then adds :func:`kiosk_photometric`); ``official``: flip and
    :func:`colour_jitter`; ``none``: the sample unchanged.

    Args:
        image_rgb: uint8 HxWx3 RGB.
        mask: bool HxW label.
        fov: bool (or uint8 bit-packed) HxW field-of-view mask or None; keeps its dtype.
        rng: numpy random generator (the caller seeds it per sample and epoch).
        cfg: ranges; defaults to :class:`AugmentConfig`.

    Returns:
        ``(image_rgb, mask, fov)`` of the same shapes and dtypes.
    """
    cfg = cfg or AugmentConfig()
    if cfg.profile == "none":
        return image_rgb, mask, fov
    if cfg.profile == "official":
        jittered, _, mask, fov = official_augment(image_rgb, mask, fov, rng, cfg)
        return jittered, mask, fov
    h, w = mask.shape
    image_rgb, mask, fov = _flip(image_rgb, mask, fov, rng, cfg.hflip_probability)
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
    # nearest + reflect only copies values, so a uint8 FOV packing several masks as bits
    # (wds_edge_train.dataset) comes out as valid as a bool one
    fov_out = (
        warp(fov.astype(np.uint8), cv2.INTER_NEAREST).astype(fov.dtype) if fov is not None else None
    )
    gain = rng.uniform(1 - cfg.brightness, 1 + cfg.brightness)
    gain = gain * rng.uniform(1 - cfg.colour, 1 + cfg.colour, size=3)
    image = np.clip(image * gain.astype(np.float32), 0, 255).round().astype(np.uint8)
    if cfg.profile == "kiosk":
        image = kiosk_photometric(image, rng, cfg)
    return image, mask_out, fov_out


def _flip(
    image_rgb: np.ndarray,
    mask: np.ndarray,
    fov: np.ndarray | None,
    rng: np.random.Generator,
    probability: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    if rng.random() < probability:
        image_rgb, mask = image_rgb[:, ::-1], mask[:, ::-1]
        fov = fov[:, ::-1] if fov is not None else None
    return image_rgb, mask, fov


def official_augment(
    image_rgb: np.ndarray,
    mask: np.ndarray,
    fov: np.ndarray | None,
    rng: np.random.Generator,
    cfg: AugmentConfig | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The official training code's augmentation: a horizontal flip of everything, then
    :func:`colour_jitter` of the RGB image only.

    The official code reads a texture map computed beforehand from the photo and transforms
    it with the masks, so the flip reaches it and the jitter does not: the texture channel
    must be computed from the second image returned here, not from the first.

    Args:
        image_rgb, mask, fov, rng, cfg: as for :func:`augment_sample` (``cfg``'s
            ``hflip_probability``, ``jitter_probability``, ``jitter``, ``jitter_hue``).

    Returns:
        ``(jittered_rgb, unjittered_rgb, mask, fov)``, contiguous, shapes and dtypes kept.
    """
    cfg = cfg or AugmentConfig(profile="official")
    image_rgb, mask, fov = _flip(image_rgb, mask, fov, rng, cfg.hflip_probability)
    plain = np.ascontiguousarray(image_rgb)
    jittered = plain
    if rng.random() < cfg.jitter_probability:
        jittered = colour_jitter(plain, rng, cfg.jitter, cfg.jitter_hue)
    return (
        jittered,
        plain,
        np.ascontiguousarray(mask),
        (np.ascontiguousarray(fov) if fov is not None else None),
    )


def colour_jitter(
    image_rgb: np.ndarray, rng: np.random.Generator, amount: float = 0.2, hue: float = 0.2
) -> np.ndarray:
    """Brightness, contrast, saturation and hue changes in a random order (torchvision's /
    albumentations' ColorJitter): each factor uniform in ``1 +- amount``, the hue shifted by
    ``+- hue`` of a full turn.

    Brightness scales the pixels; contrast blends with the mean grey level; saturation blends
    with the grey image; hue rotates the HSV hue channel.

    Args:
        image_rgb: uint8 H x W x 3 RGB.
        rng: the sample's random generator.
        amount: brightness / contrast / saturation range, >= 0.
        hue: hue range in turns, 0..0.5.

    Returns:
        uint8 H x W x 3 RGB.
    """
    from wds_edge.model.preprocessing import grey_from_rgb

    if not 0.0 <= amount < 1.0 or not 0.0 <= hue <= 0.5:
        raise InvalidInputError(
            f"jitter must be in [0, 1) and hue in [0, 0.5], got {amount}, {hue}"
        )
    out = _check_rgb(image_rgb).astype(np.float32)
    for step in rng.permutation(4):
        if step == 0:
            out = out * float(rng.uniform(1 - amount, 1 + amount))
        elif step == 1:
            mean = float(grey_from_rgb(_to_uint8(out)).mean())
            f = float(rng.uniform(1 - amount, 1 + amount))
            out = out * f + mean * (1 - f)
        elif step == 2:
            grey = grey_from_rgb(_to_uint8(out))[..., None]
            f = float(rng.uniform(1 - amount, 1 + amount))
            out = out * f + grey * (1 - f)
        else:
            shift = int(round(float(rng.uniform(-hue, hue)) * 256))  # OpenCV's full hue: 0..255
            if shift:
                hsv = cv2.cvtColor(_to_uint8(out), cv2.COLOR_RGB2HSV_FULL)
                hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + shift) % 256).astype(np.uint8)
                out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB_FULL).astype(np.float32)
        out = np.clip(out, 0.0, 255.0)
    return _to_uint8(out)


def kiosk_photometric(
    image_rgb: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig | None = None
) -> np.ndarray:
    """The random camera effects of :class:`AugmentConfig` in the order a camera applies
    them: small face (optics / resize), blur, white balance, exposure + gamma, grey
    (mono sensor), sensor noise, JPEG. The labels are untouched (same geometry).

    Args:
        image_rgb: uint8 H x W x 3 RGB.
        rng: the sample's random generator.
        cfg: probabilities and ranges.

    Returns:
        uint8 H x W x 3 RGB.
    """
    cfg = cfg or AugmentConfig()
    out = image_rgb
    if rng.random() < cfg.small_face_probability:
        out = downscale_upsample(out, float(rng.uniform(*cfg.small_face_factor)))
    if rng.random() < cfg.blur_probability:
        out = gaussian_blur(out, float(rng.uniform(*cfg.blur_sigma_range)))
    if rng.random() < cfg.white_balance_probability:
        t = float(rng.uniform(-cfg.white_balance_log_gain, cfg.white_balance_log_gain))
        out = white_balance(out, float(np.exp(t)), float(np.exp(-t)))
    if rng.random() < cfg.exposure_probability:
        out = exposure_gamma(
            out, float(rng.uniform(*cfg.exposure_range)), float(rng.uniform(*cfg.gamma_range))
        )
    if rng.random() < cfg.grey_probability:
        out = to_grey(out)
    if rng.random() < cfg.noise_probability:
        out = sensor_noise(out, float(rng.uniform(*cfg.noise_sigma_range)), rng)
    if rng.random() < cfg.jpeg_probability:
        lo, hi = cfg.jpeg_quality_range
        out = jpeg_roundtrip(out, int(rng.integers(lo, hi + 1)))
    return out


def _check_rgb(image_rgb: np.ndarray) -> np.ndarray:
    if not isinstance(image_rgb, np.ndarray) or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise InvalidInputError(
            f"expected a uint8 H x W x 3 RGB image, got {getattr(image_rgb, 'shape', image_rgb)}"
        )
    if image_rgb.dtype != np.uint8:
        raise InvalidInputError(f"expected dtype uint8, got {image_rgb.dtype}")
    return image_rgb


def _to_uint8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.round(a), 0, 255).astype(np.uint8)


def white_balance(image_rgb: np.ndarray, red_gain: float, blue_gain: float) -> np.ndarray:
    """Colour temperature / white balance: R x ``red_gain``, B x ``blue_gain`` (G kept).

    ``red_gain > 1 > blue_gain`` is a warm (tungsten-like) cast, the reverse a cool one.
    uint8 RGB in, uint8 RGB out (clipped).
    """
    if red_gain <= 0 or blue_gain <= 0:
        raise InvalidInputError(f"gains must be > 0, got red {red_gain}, blue {blue_gain}")
    gains = np.array([red_gain, 1.0, blue_gain], np.float32)
    return _to_uint8(_check_rgb(image_rgb).astype(np.float32) * gains)


def exposure_gamma(image_rgb: np.ndarray, gain: float, gamma: float) -> np.ndarray:
    """``255 * clip(gain * x / 255, 0, 1) ** gamma`` per channel (uint8 RGB in and out)."""
    if gain <= 0 or gamma <= 0:
        raise InvalidInputError(f"gain and gamma must be > 0, got {gain}, {gamma}")
    x = np.clip(_check_rgb(image_rgb).astype(np.float32) * (gain / 255.0), 0.0, 1.0)
    return _to_uint8(255.0 * x**gamma)


def to_grey(image_rgb: np.ndarray) -> np.ndarray:
    """A mono camera: the BT.601 grey (:func:`wds_edge.model.preprocessing.grey_from_rgb`)
    in all three channels, uint8 H x W x 3."""
    from wds_edge.model.preprocessing import grey_from_rgb

    grey = _to_uint8(grey_from_rgb(_check_rgb(image_rgb)))
    return np.repeat(grey[..., None], 3, axis=2)


def jpeg_roundtrip(image_rgb: np.ndarray, quality: int) -> np.ndarray:
    """Encode as JPEG at ``quality`` (1-100) and decode again (uint8 RGB in and out)."""
    if not 1 <= int(quality) <= 100:
        raise InvalidInputError(f"JPEG quality must be in 1..100, got {quality}")
    bgr = cv2.cvtColor(_check_rgb(image_rgb), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise InvalidInputError("OpenCV could not encode the image as JPEG")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def sensor_noise(image_rgb: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian read noise of ``sigma`` grey levels plus shot noise (variance proportional
    to the signal, ``sigma**2 * x / 128``), independent per pixel and channel."""
    if sigma < 0:
        raise InvalidInputError(f"sigma must be >= 0, got {sigma}")
    x = _check_rgb(image_rgb).astype(np.float32)
    std = sigma * np.sqrt(0.5 + x / 128.0)
    return _to_uint8(x + rng.standard_normal(x.shape, dtype=np.float32) * std)


def gaussian_blur(image_rgb: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur of ``sigma_px`` (> 0) pixels, reflect-101 border."""
    if sigma_px <= 0:
        raise InvalidInputError(f"sigma_px must be > 0, got {sigma_px}")
    return cv2.GaussianBlur(_check_rgb(image_rgb), (0, 0), sigma_px)


def downscale_upsample(image_rgb: np.ndarray, factor: float) -> np.ndarray:
    """A small face blown up to the crop, as the kiosk crop does: resize by ``factor``
    (0 < factor <= 1, area interpolation) and back to the original size (bilinear, the
    crop's interpolation). uint8 H x W x 3 in and out, same size."""
    if not 0.0 < factor <= 1.0:
        raise InvalidInputError(f"factor must be in (0, 1], got {factor}")
    h, w = _check_rgb(image_rgb).shape[:2]
    small = cv2.resize(
        image_rgb,
        (max(1, int(round(w * factor))), max(1, int(round(h * factor)))),
        interpolation=cv2.INTER_AREA,
    )
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


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

    Images smaller than the crop are reflect-padded at the bottom / right first (DRIVE's
    565 x 584 images in 576-640 px crops; training refuses a crop larger than the face crops
    of ``wds-edge label`` data: :func:`wds_edge_train.config.resolve_crop_size`).
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
