"""Facial regions in crop space, built from MediaPipe landmarks mapped into the crop.

Six regions where wrinkles are scored::

    forehead, glabella, left_crows_feet, right_crows_feet, left_under_eye, right_under_eye

"left"/"right" are the SUBJECT's (anatomical) sides, as in MediaPipe's landmark
names: in an unmirrored frontal photo ``left_crows_feet`` lies on the image's
RIGHT. Polygons follow the face mesh:

* forehead: from the top arc of MediaPipe's face oval (which stops below the
  hairline, so hair stays out) down to the eyebrows, minus the glabella;
* glabella: between the eyebrows, from the nose bridge between the eyes
  (landmark 168) up to 40 % of the way from the brow line to landmark 151;
* crow's feet: lateral to the outer eye corner, between the eyebrow tail and
  the cheekbone, out to the face oval;
* under-eye: below the lower eyelid (the second lid ring, clear of lashes) down
  to the cheek ring 117-121 / 346-350.

Masks never overlap: eyes and eyebrows are removed from every region, and a pixel
claimed by an earlier region in :data:`REGION_NAMES` order is not given to a later one.
"""

from __future__ import annotations

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.perception.face import checked_landmarks

__all__ = [
    "checked_landmarks",
    "dilate_near",
    "REGION_NAMES",
    "FACE_OVAL",
    "RIGHT_EYE_RING",
    "LEFT_EYE_RING",
    "RIGHT_EYEBROW_RING",
    "LEFT_EYEBROW_RING",
    "LIPS_OUTER_RING",
    "region_polygons",
    "region_masks",
    "skin_mask",
]

REGION_NAMES = (
    "forehead",
    "glabella",
    "left_crows_feet",
    "right_crows_feet",
    "left_under_eye",
    "right_under_eye",
)

# Closed rings of MediaPipe landmark indices (the same sets as mediapipe's
# FaceLandmarksConnections; tests check that).
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
RIGHT_EYE_RING = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
LEFT_EYE_RING = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
RIGHT_EYEBROW_RING = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_EYEBROW_RING = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
LIPS_OUTER_RING = (
    61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146,
)  # fmt: skip

# A vertex is a landmark index or (a, b, t): the point a + t * (b - a).
_GLABELLA_RISE = 0.4
_G_TOP_R = (107, 108, _GLABELLA_RISE)
_G_TOP_M = (9, 151, _GLABELLA_RISE)
_G_TOP_L = (336, 337, _GLABELLA_RISE)

_POLYGONS: dict[str, tuple[int | tuple[int, int, float], ...]] = {
    "forehead": (
        162, 21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251, 389,
        300, 293, 334, 296, 336, _G_TOP_L, _G_TOP_M, _G_TOP_R, 107, 66, 105, 63, 70,
    ),
    "glabella": (55, 107, _G_TOP_R, _G_TOP_M, _G_TOP_L, 336, 285, 417, 168, 193),
    "left_crows_feet": (359, 342, 353, 383, 368, 356, 454, 345, 340, 261, 446),
    "right_crows_feet": (130, 113, 124, 156, 139, 127, 234, 116, 111, 31, 226),
    "left_under_eye": (
        359, 255, 339, 254, 253, 252, 256, 341, 463, 464, 465, 357, 350, 349, 348, 347, 261, 446,
    ),
    "right_under_eye": (
        130, 25, 110, 24, 23, 22, 26, 112, 243, 244, 245, 128, 121, 120, 119, 118, 31, 226,
    ),
}  # fmt: skip


def _vertex(points: np.ndarray, v: int | tuple[int, int, float]) -> np.ndarray:
    if isinstance(v, tuple):
        a, b, t = v
        return points[a] + t * (points[b] - points[a])
    return points[v]


def region_polygons(landmarks_crop_px: np.ndarray) -> dict[str, np.ndarray]:
    """The six region outlines in crop pixels.

    Args:
        landmarks_crop_px: (478, 2) landmarks already mapped into the crop
            (``CropTransform.points_to_crop(face.landmarks_px)``).

    Returns:
        ``{name: (K, 2) float32 polygon}`` in :data:`REGION_NAMES` order. The polygons
        may touch the eyes and each other; :func:`region_masks` resolves that.
    """
    points = checked_landmarks(landmarks_crop_px)
    return {
        name: np.array([_vertex(points, v) for v in _POLYGONS[name]], dtype=np.float32)
        for name in REGION_NAMES
    }


def _fill(polygons: list[np.ndarray], size_px: int) -> np.ndarray:
    canvas = np.zeros((size_px, size_px), dtype=np.uint8)
    # Fixed-point (4 fractional bits) so sub-pixel vertices are not rounded away.
    shift = 4
    cv2.fillPoly(
        canvas,
        [np.round(p * (1 << shift)).astype(np.int32) for p in polygons],
        color=1,
        lineType=cv2.LINE_8,
        shift=shift,
    )
    return canvas.astype(bool)


def dilate_near(mask: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``cv2.dilate(mask, kernel)``, computed only around the mask's pixels.

    The same pixels as dilating the whole image (a pixel farther than the kernel's reach
    from every set pixel stays 0, and OpenCV's dilation ignores what lies past the border),
    for a fraction of the time when the mask covers a small part of the crop (the eyes,
    the lips: issue 25 measured 14 of the 46 ms of postprocessing in full-crop dilations).

    Args:
        mask: uint8 ``H x W`` (0 / non-zero).
        kernel: uint8 structuring element with odd sides, anchored at its centre.

    Returns:
        uint8 ``H x W``.
    """
    out = np.zeros_like(mask)
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0 or h == 0:
        return out
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    y0, y1 = max(0, y - ry), min(mask.shape[0], y + h + ry)
    x0, x1 = max(0, x - rx), min(mask.shape[1], x + w + rx)
    out[y0:y1, x0:x1] = cv2.dilate(np.ascontiguousarray(mask[y0:y1, x0:x1]), kernel)
    return out


def _feature_mask(
    points: np.ndarray, size_px: int, rings: tuple[tuple[int, ...], ...]
) -> np.ndarray:
    """Eyes / brows / lips, dilated by ~1 % of the crop so lashes and brow hairs stay out."""
    mask = _fill([points[list(r)] for r in rings], size_px).astype(np.uint8)
    radius = max(1, round(size_px * 0.01))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return dilate_near(mask, kernel).astype(bool)


def _check_size(size_px: int) -> int:
    if int(size_px) < 8:
        raise InvalidInputError(f"size_px must be >= 8, got {size_px}")
    return int(size_px)


def region_masks(landmarks_crop_px: np.ndarray, size_px: int) -> dict[str, np.ndarray]:
    """Rasterized, non-overlapping region masks.

    Args:
        landmarks_crop_px: (478, 2) landmarks in crop pixels.
        size_px: crop side.

    Returns:
        ``{name: (size_px, size_px) bool}`` in :data:`REGION_NAMES` order; eyes and
        eyebrows are excluded; a region may be empty if it lies outside the crop.
    """
    size_px = _check_size(size_px)
    points = checked_landmarks(landmarks_crop_px)
    polygons = region_polygons(points)
    taken = _feature_mask(
        points, size_px, (RIGHT_EYE_RING, LEFT_EYE_RING, RIGHT_EYEBROW_RING, LEFT_EYEBROW_RING)
    )
    masks = {}
    for name in REGION_NAMES:
        mask = _fill([polygons[name]], size_px) & ~taken
        taken |= mask
        masks[name] = mask
    return masks


def skin_mask(landmarks_crop_px: np.ndarray, size_px: int) -> np.ndarray:
    """Facial skin in the crop: face oval minus eyes, eyebrows and lips (dilated ~1 %).

    This is the field of view used for training metrics and whole-crop scores.

    Returns:
        (size_px, size_px) bool.
    """
    size_px = _check_size(size_px)
    points = checked_landmarks(landmarks_crop_px)
    oval = _fill([points[list(FACE_OVAL)]], size_px)
    features = _feature_mask(
        points,
        size_px,
        (RIGHT_EYE_RING, LEFT_EYE_RING, RIGHT_EYEBROW_RING, LEFT_EYEBROW_RING, LIPS_OUTER_RING),
    )
    return oval & ~features
