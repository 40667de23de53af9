"""Colour checks of a face crop: a grey (mono / IR) camera and a far-off white balance.

Skin reflects more red than green and more green than blue under any daylight-like light,
whatever the skin tone (melanin and haemoglobin both absorb blue most). So the mean skin
colour of a face crop tells a grey frame (R = G = B) and a strong colour cast (blue above
red on skin: a cool cast no real skin shows; red far above green: a strong warm cast; red
barely above green: a green cast, as fluorescent light gives, or a grey / IR camera whose
picture carries a slight tint; blue above green: a magenta-tinted grey picture or a strong
blue cast) from a normal frame. This module only measures; what to do about it (a status, a
prompt, a correction) is the caller's choice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import check_uint8_image

__all__ = [
    "GREY_MAX_CHANNEL_SPREAD",
    "MIN_RED_OVER_BLUE",
    "MIN_RED_OVER_GREEN",
    "MAX_RED_OVER_GREEN",
    "MAX_RED_OVER_BLUE",
    "MAX_BLUE_OVER_GREEN",
    "ColourCast",
    "skin_colour_cast",
]

#: A frame whose skin pixels differ between channels by at most this (grey levels, 99th
#: percentile) came from a grey / mono / IR camera.
GREY_MAX_CHANNEL_SPREAD = 3.0
#: Mean skin red / blue below this: a far-off cool cast, blue light above red on skin, which
#: no daylight-like light gives. Every colour photo in ``data/faces``, ``data/faces_pd`` and
#: the clip measures 1.26-2.43 (issue 21, benchmarks/RESULTS.md); an everyday outdoor portrait
#: in slightly cool light 1.06 (it was refused at the former 1.1); the strong cool cast of
#: the tests (R x 0.7, B x 1.4) halves R/B: the tested photos come to about 0.7-0.98.
MIN_RED_OVER_BLUE = 1.0
#: Mean skin red / green above this: a far-off warm cast (all shared colour photos: 1.20-2.01).
MAX_RED_OVER_GREEN = 2.4
#: ... or mean skin red / blue above this (all shared colour photos: at most 2.43).
MAX_RED_OVER_BLUE = 3.2
#: Mean skin red / green below this: a green cast (fluorescent light: G x 1.4 takes 27 of
#: the 33 shared photos below it, the warmest stay above) or a grey / IR picture with a slight
#: tint (R = G = B, then R and B raised by 6 grey levels: 1.03-1.06). Every colour photo in
#: ``data/faces`` and ``data/faces_pd`` and every sharp frame of the clip measures 1.20
#: (astronaut) to 2.01, whatever the face's other gates say.
MIN_RED_OVER_GREEN = 1.1
#: Mean skin blue / green above this: blue above green on skin, as a grey picture tinted
#: magenta or blue gives (R and B raised by 12-25 grey levels: 1.06-1.26). Kept below
#: :data:`MIN_RED_OVER_GREEN`, so an evenly tinted grey picture (R / G and B / G about equal)
#: is caught by one of the two whatever its tint. The same photos and frames measure 0.74-0.99
#: (D000216 the highest).
MAX_BLUE_OVER_GREEN = 1.08


@dataclass(frozen=True)
class ColourCast:
    """Mean skin colour ratios of a face crop and what they say.

    Attributes:
        red_over_green, blue_over_green, red_over_blue: ratios of the mean skin R, G, B.
        channel_spread: 99th percentile over skin pixels of max(R, G, B) - min(R, G, B).
        grey: the frame carries no colour (a mono / IR camera, or a grey conversion).
        far_off: colour, but a white balance no real skin shows (too blue, too red, too
            green, or a tinted grey picture).
    """

    red_over_green: float
    blue_over_green: float
    red_over_blue: float
    channel_spread: float
    grey: bool
    far_off: bool

    def to_dict(self) -> dict[str, float | bool]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def skin_colour_cast(crop_rgb: np.ndarray, skin: np.ndarray) -> ColourCast:
    """Measure the colour of the skin of a face crop.

    Args:
        crop_rgb: uint8 ``S x S x 3`` RGB face crop (or any RGB image).
        skin: bool mask of the same ``H x W`` (e.g. :func:`wds_edge.perception.regions.skin_mask`).

    Returns:
        :class:`ColourCast`.

    Raises:
        InvalidInputError: wrong shapes / dtype, or fewer than 100 skin pixels.
    """
    check_uint8_image(crop_rgb, "crop_rgb")  # a float crop cast to uint8 would read as grey
    mask = np.asarray(skin, dtype=bool)
    if mask.shape != crop_rgb.shape[:2]:
        raise InvalidInputError(
            f"skin mask {mask.shape} must have the crop's size {crop_rgb.shape[:2]}"
        )
    if np.count_nonzero(mask) < 100:
        raise InvalidInputError("fewer than 100 skin pixels: cannot judge the colour")
    # On uint8 planes (issue 25: 26 of the 54 ms the locate stage took went into float64
    # reductions over N x 3 pixels). The channel sums are integers, recovered exactly from
    # OpenCV's masked mean (its error is far below 0.5 for any crop), so the means equal the
    # float64 means bit for bit; the spread's percentile comes from its histogram.
    count = int(np.count_nonzero(mask))
    rgb = np.ascontiguousarray(crop_rgb)
    mask_u8 = np.ascontiguousarray(mask).view(np.uint8)
    means = cv2.mean(rgb, mask_u8)
    r, g, b = (float(round(means[k] * count)) / count + 1e-6 for k in range(3))
    planes = cv2.split(rgb)
    high = cv2.max(cv2.max(planes[0], planes[1]), planes[2])
    low = cv2.min(cv2.min(planes[0], planes[1]), planes[2])
    spread = _percentile_u8(cv2.subtract(high, low), mask_u8, count, 99.0)
    grey = spread <= GREY_MAX_CHANNEL_SPREAD
    cool = r / b < MIN_RED_OVER_BLUE
    warm = r / g > MAX_RED_OVER_GREEN or r / b > MAX_RED_OVER_BLUE
    # Skin is R > G > B: red barely above green (a green cast, a tinted grey picture) or
    # blue above green (a magenta / blue tinted grey picture) is no real skin colour.
    off_green = r / g < MIN_RED_OVER_GREEN or b / g > MAX_BLUE_OVER_GREEN
    far_off = (not grey) and (cool or warm or off_green)
    return ColourCast(r / g, b / g, r / b, spread, grey, far_off)


def _percentile_u8(values: np.ndarray, mask_u8: np.ndarray, count: int, q: float) -> float:
    """``np.percentile(values[mask], q)`` of a uint8 image, read from its histogram.

    NumPy's linear percentile interpolates between the order statistics at ``floor`` and
    ``ceil`` of ``q / 100 * (count - 1)``; when both hold the same value (nearly always,
    with 256 possible values) that value is the answer, exactly. Otherwise NumPy computes it.
    """
    hist = cv2.calcHist([values], [0], mask_u8, [256], [0, 256]).ravel()
    cumulative = np.cumsum(np.rint(hist).astype(np.int64))
    position = q / 100.0 * (count - 1)
    lo, hi = np.searchsorted(cumulative, [np.floor(position) + 1, np.ceil(position) + 1])
    if lo == hi:
        return float(lo)
    return float(np.percentile(values[mask_u8.astype(bool)], q))
