"""Colour checks of a face crop: a grey (mono / IR) camera and a far-off white balance.

Skin reflects more red than green and more green than blue under any daylight-like light,
whatever the skin tone (melanin and haemoglobin both absorb blue most). So the mean skin
colour of a face crop tells a strong colour cast (blue above red on skin: a cool cast no real
skin shows; red far above green: a strong warm cast; red barely above green: a green cast, as
fluorescent light gives; blue far above green: a strong blue / magenta cast) from a normal
frame. A grey frame is told by its pixels, not its mean: R = G = B on every skin pixel (a
mono / IR camera, a grey conversion). A picture whose chroma R - G, B - G is (nearly) the same
on every skin pixel, while real skin's varies (lips, cheeks, shadows), has colour that says
nothing about the skin: a grey picture with a constant tint, or a washed-out colour picture
(a camera's colour saturation turned far down: faces_pd's B001260 and H001072 at half
saturation). Such flat chroma is a colour fault (``far_off``), not a grey camera: the channels
differ, so it came from a colour camera whose colour is off. This module only measures; what
to do about it (a status, a prompt, a correction) is the caller's choice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import check_uint8_image

__all__ = [
    "GREY_MAX_CHANNEL_SPREAD",
    "GREY_MAX_CHROMA_SPREAD",
    "CHROMA_MAX_LEVEL",
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
#: Skin chroma that varies around its own median by at most this fraction of the mean skin
#: green level is flat: 99th percentile over skin pixels of max(|(R - G) - median(R - G)|,
#: |(B - G) - median(B - G)|) / mean(G). A grey picture with a constant tint, or a colour
#: picture with its saturation turned far down (faces_pd's B001260 and H001072 at half
#: saturation, JPEG 90: skin R / G 1.12, R / B 1.15-1.16, chroma 0.053-0.062 on a 256 px
#: crop), has colour that tells nothing about the skin: ``far_off`` (a colour fault: the
#: channels differ, so not a grey camera). Relative, as real skin's chroma scales with the
#: light: in grey levels (21-68 on the shared photos) the least colourful faces dimmed to the
#: brightness gate's end measure 6-7, like a tinted grey picture after JPEG. Measured on the
#: analyzer's crop: every colour photo in ``data/faces`` and ``data/faces_pd`` and every sharp
#: frame of the clip 0.132-0.67 (B001260 the lowest; crops of 256 and 512 px alike); the same
#: darkened to a skin brightness of 52-100, also through JPEG at quality 85 or 70, 0.105 and
#: up; re-coloured to the cool portrait of issue 21 (skin R / B 1.06, R / G 1.19), also
#: through JPEG, 0.112 and up. Their grey versions with R and / or B raised by 0-30 grey
#: levels, at their own brightness or darkened to 52, also through JPEG at quality 85:
#: 0-0.020; raised to mean skin ratios R / G, B / G of 1.06-1.25 (inside the ratio limits):
#: 0-0.039 through JPEG at quality 85 or 70 (1.3 / 1.3: up to 0.076 when darkened; the blue
#: limit refuses it). A grey picture tinted by channel gains (R x 1.1-1.3) has chroma in
#: proportion to its brightness, 0.03-0.34 like skin: this test does not see it (the ratio
#: limits below refuse its blue gain above 1.2 or above red's, or red's below 1.1; the gains
#: between pass). (The name is kept from when flat chroma was called grey.)
GREY_MAX_CHROMA_SPREAD = 0.07
#: Skin pixels with a channel at or above this are left out of the chroma spread: a tint is
#: clipped at 255 there, and JPEG rings around the clipped pixels (a grey picture raised to
#: R / G 1.25 on a bright face: 0.11-0.12 with them, at most 0.04 without).
CHROMA_MAX_LEVEL = 240
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
#: the 33 shared photos below it, the warmest stay above). Every colour photo in
#: ``data/faces`` and ``data/faces_pd`` and every sharp frame of the clip measures 1.20
#: (astronaut) to 2.01, whatever the face's other gates say; the cool portrait of issue 21
#: 1.19.
MIN_RED_OVER_GREEN = 1.1
#: Mean skin blue / green above this: blue far above green on skin (a strong blue or magenta
#: cast). The same photos and frames measure 0.74-0.99 (D000216 the highest); the everyday
#: outdoor portrait in slightly cool light of issue 21 (R / B 1.06, R / G 1.19) 1.12, which
#: must pass (the former limit 1.08 refused it). A tinted grey picture in between is told by
#: its flat chroma (:data:`GREY_MAX_CHROMA_SPREAD`), not by this limit.
MAX_BLUE_OVER_GREEN = 1.2


@dataclass(frozen=True)
class ColourCast:
    """Mean skin colour ratios of a face crop and what they say.

    Attributes:
        red_over_green, blue_over_green, red_over_blue: ratios of the mean skin R, G, B.
        channel_spread: 99th percentile over skin pixels of max(R, G, B) - min(R, G, B).
        chroma_spread: 99th percentile over skin pixels (below :data:`CHROMA_MAX_LEVEL`) of
            how far the pixel's R - G or B - G lies from its median (the larger of the two),
            as a fraction of the mean skin green level.
        grey: the frame carries no colour (a mono / IR camera, a grey conversion):
            ``channel_spread`` at most :data:`GREY_MAX_CHANNEL_SPREAD`.
        flat_chroma: ``chroma_spread`` at most :data:`GREY_MAX_CHROMA_SPREAD`: the skin's
            colour does not vary as real skin's does (a grey picture with a tint, a washed-out
            colour picture).
        far_off: colour (not ``grey``), but none real skin shows in daylight-like light:
            too blue, too red, too green, or flat chroma.
    """

    red_over_green: float
    blue_over_green: float
    red_over_blue: float
    channel_spread: float
    chroma_spread: float
    grey: bool
    flat_chroma: bool
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
    # The chroma percentile reads every step-th pixel of a crop over 320 px (a 640 px crop:
    # a quarter of its pixels), which is plenty for a 99th percentile of skin pixels.
    step = max(1, min(crop_rgb.shape[:2]) // 320)
    sub = tuple(np.ascontiguousarray(p[::step, ::step]) for p in planes)
    sub_mask = mask[::step, ::step]
    unclipped = sub_mask & (high[::step, ::step] < CHROMA_MAX_LEVEL)
    if np.count_nonzero(unclipped) < 100:  # an overexposed face: judge all of its skin
        unclipped = sub_mask
    chroma = _chroma_spread(sub, unclipped) / g
    grey = spread <= GREY_MAX_CHANNEL_SPREAD
    flat = chroma <= GREY_MAX_CHROMA_SPREAD
    cool = r / b < MIN_RED_OVER_BLUE
    warm = r / g > MAX_RED_OVER_GREEN or r / b > MAX_RED_OVER_BLUE
    # Skin is R > G > B: red barely above green (a green cast) or blue far above green (a
    # strong blue / magenta cast) is no real skin colour.
    off_green = r / g < MIN_RED_OVER_GREEN or b / g > MAX_BLUE_OVER_GREEN
    far_off = (not grey) and (cool or warm or off_green or flat)
    return ColourCast(r / g, b / g, r / b, spread, chroma, grey, flat, far_off)


def _chroma_spread(planes: tuple[np.ndarray, ...], mask: np.ndarray) -> float:
    """99th percentile over ``mask`` of max(|(R-G) - median|, |(B-G) - median|) in grey
    levels: near 0 for a grey picture with a constant colour offset, tens for real skin.

    Equal to NumPy's ``np.median`` / ``np.percentile`` (linear) on the skin pixels, read from
    histograms of integers (twice the deviations: a median may end in .5) rather than by
    sorting, which made the whole check take about 1.0 instead of 0.6 ms on a 256 px crop.
    """
    doubled = []
    for channel in (planes[0], planes[2]):
        chroma = cv2.subtract(channel, planes[1], dtype=cv2.CV_16S)[mask].astype(np.int32) + 255
        count = chroma.size
        middle = _ranked(np.bincount(chroma, minlength=511), [(count - 1) // 2, count // 2])
        doubled.append(np.abs(2 * chroma - int(middle.sum())))
    deviation = np.maximum(doubled[0], doubled[1])
    position = 0.99 * (deviation.size - 1)
    below = int(np.floor(position))
    lo, hi = (int(v) for v in _ranked(np.bincount(deviation), [below, below + 1]))
    if lo == hi:
        return lo / 2.0
    return float(lo + (hi - lo) * (position - below)) / 2.0


def _ranked(hist: np.ndarray, ranks: list[int]) -> np.ndarray:
    """The values at the 0-based ``ranks`` of the sorted data whose histogram is ``hist``
    (a rank past the end reads as the largest value)."""
    cumulative = np.cumsum(hist)
    return np.minimum(np.searchsorted(cumulative, np.asarray(ranks) + 1), len(hist) - 1)


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
