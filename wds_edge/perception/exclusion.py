"""Exclusion zones: where a dark ridge on a face crop is NOT a wrinkle.

One implementation for both users (issue 21): the second-generation weak labeler
(``wds_edge_train.labeling.auto_v2``) never labels inside these zones, and the kiosk's scores never
count a pixel inside them (:mod:`wds_edge.perception.skin_regions`).

All zones live in crop space (the square kiosk crop, ``S x S`` pixels) and are sized in
millimetres of the face, converted with the iris ruler (the visible iris is about 11.7 mm
wide in adults, :data:`wds_edge.perception.face.IRIS_DIAMETER_MM`), so a small face
blown up to the crop and a large one get the same anatomical margins.

Zones (bool ``S x S`` each, see :func:`exclusion_zones`):

* ``eyelids``: the eye contours filled and dilated by :data:`EYELID_MARGIN_MM` (lid
  margins, lash line, the lid crease shadow: the first generation's favourite false
  positive);
* ``brows``: the eyebrow contours dilated by :data:`BROW_MARGIN_MM` (brow hairs);
* ``hairline``: a band of :data:`HAIRLINE_BAND_MM` either side of the top arc of
  MediaPipe's face oval (stray hair, the hair edge);
* ``outline``: a band of :data:`OUTLINE_BAND_MM` either side of the whole face oval (the
  jaw / cheek silhouette against the background or hair);
* ``nostrils`` and ``lips``: the lower nose and the lips, dilated;
* ``hair``: hair over the upper face, by colour against the cheeks (:func:`hair_mask`);
* ``glasses``: long, straight, high-contrast edges across the eye band
  (:func:`glasses_mask`), dilated by :data:`GLASSES_MARGIN_MM`: straight-edged frames only;
  round and oval rims are not detected (their pixels are scored as skin).
"""

from __future__ import annotations

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import grey_from_rgb
from wds_edge.perception.face import IRIS_DIAMETER_MM
from wds_edge.perception.regions import (
    FACE_OVAL,
    LEFT_EYE_RING,
    LEFT_EYEBROW_RING,
    LIPS_OUTER_RING,
    RIGHT_EYE_RING,
    RIGHT_EYEBROW_RING,
    checked_landmarks,
    dilate_near,
)

__all__ = [
    "EXCLUSION_ZONES",
    "EYELID_MARGIN_MM",
    "BROW_MARGIN_MM",
    "HAIRLINE_BAND_MM",
    "OUTLINE_BAND_MM",
    "GLASSES_MIN_LENGTH_MM",
    "IRIS_DIAMETER_MM",
    "mm_per_crop_px",
    "exclusion_zones",
    "glasses_mask",
    "hair_mask",
    "union",
]

#: Outer-canthus distance of adults: the ruler when the iris landmarks are missing.
_OUTER_CANTHAL_MM = 88.0
EYELID_MARGIN_MM = 3.0
BROW_MARGIN_MM = 2.5
HAIRLINE_BAND_MM = 5.0
OUTLINE_BAND_MM = 3.0
NOSTRIL_MARGIN_MM = 2.0
LIPS_MARGIN_MM = 3.0
#: A glasses rim / bridge / temple is a straight edge at least this long across the eye band.
GLASSES_MIN_LENGTH_MM = 18.0
GLASSES_MARGIN_MM = 2.0
#: Canny thresholds (uint8 grey) for the glasses edges: only high-contrast edges.
_GLASSES_CANNY = (60, 140)

EXCLUSION_ZONES = (
    "eyelids", "brows", "hairline", "outline", "nostrils", "lips", "glasses", "hair",
)  # fmt: skip
#: Robust colour distance from the cheeks' skin above which an upper-face pixel is hair.
HAIR_MAX_SKIN_DISTANCE = 6.0

# Top arc of the face oval (left temple over the forehead to the right temple).
_OVAL_TOP = (162, 21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251, 389)
# Lower nose: alae, nostrils, columella (MediaPipe face mesh).
_NOSE_BOTTOM = (64, 48, 115, 220, 45, 4, 275, 440, 344, 278, 294, 327, 326, 2, 97, 98)
_RIGHT_IRIS = (468, 469, 470, 471, 472)
_LEFT_IRIS = (473, 474, 475, 476, 477)


def mm_per_crop_px(landmarks_crop_px: np.ndarray) -> float:
    """Millimetres per crop pixel from the iris diameter (or the eye corners without irises).

    Args:
        landmarks_crop_px: (478, 2) MediaPipe landmarks in crop pixels (468 without irises).

    Returns:
        mm per pixel (> 0).

    Raises:
        InvalidInputError: malformed landmarks or a degenerate (zero-size) face.
    """
    p = checked_landmarks(landmarks_crop_px)
    if p.shape[0] >= 478:
        d = [np.linalg.norm(p[i[1]] - p[i[3]]) for i in (_RIGHT_IRIS, _LEFT_IRIS)]
        d += [np.linalg.norm(p[i[2]] - p[i[4]]) for i in (_RIGHT_IRIS, _LEFT_IRIS)]
        iris_px = float(np.mean(d))
        if iris_px > 1.0:
            return IRIS_DIAMETER_MM / iris_px
    canthal_px = float(np.linalg.norm(p[33] - p[263]))
    if canthal_px <= 1.0:
        raise InvalidInputError("the eye corners coincide: cannot size the face")
    return _OUTER_CANTHAL_MM / canthal_px


def _disk(radius_px: float) -> np.ndarray:
    r = max(1, int(round(radius_px)))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _filled(points: np.ndarray, rings: tuple[tuple[int, ...], ...], size: int) -> np.ndarray:
    canvas = np.zeros((size, size), np.uint8)
    cv2.fillPoly(
        canvas, [np.round(points[list(r)] * 16).astype(np.int32) for r in rings], 1, shift=4
    )
    return canvas


def _band(
    points: np.ndarray, ring: tuple[int, ...], closed: bool, size: int, half_px: float
) -> np.ndarray:
    canvas = np.zeros((size, size), np.uint8)
    poly = np.round(points[list(ring)] * 16).astype(np.int32)
    thickness = max(1, int(round(2 * half_px)))
    cv2.polylines(canvas, [poly], closed, 1, thickness=thickness, lineType=cv2.LINE_8, shift=4)
    return canvas.astype(bool)


def glasses_mask(
    image_rgb: np.ndarray, landmarks_crop_px: np.ndarray, mm_per_px: float | None = None
) -> np.ndarray:
    """Glasses frames: long straight high-contrast edges in the eye band, dilated.

    The eye band runs from the top of the brows to 22 mm below the eyes, across the face.
    Edges inside the eye / brow contours are ignored (the lid margin and the brow edge are
    long and contrasted too); what remains and is straight for at least
    :data:`GLASSES_MIN_LENGTH_MM` (a rim, the bridge, a temple arm) on both sides of the
    nose is taken as a frame.

    Limit: only straight-edged frames are found (a Hough search for straight segments). A
    round or oval rim has no straight stretch of 18 mm and is not detected: on the 640 px
    crop of biden2.jpg, oval rims drawn round both eyes (40-50 x 24-40 mm, as dark and thick
    as rectangular ones that are found) give an empty mask, so a curved rim stays in the
    scored skin (whatever of it the model marks counts as wrinkles). On coarse crops (a
    128-256 px model: 0.6-1.2 mm per pixel) pixelation breaks such a rim into short straight
    runs and 20-60 % of it is found.

    Args:
        image_rgb: uint8 RGB ``S x S x 3`` crop.
        landmarks_crop_px: (478, 2) landmarks in crop pixels.
        mm_per_px: the crop's scale; measured from the landmarks when ``None``.

    Returns:
        bool ``S x S``: pixels near a detected frame edge (all False without glasses).
    """
    if image_rgb.ndim != 3 or image_rgb.shape[0] != image_rgb.shape[1]:
        raise InvalidInputError(f"expected a square RGB crop, got shape {image_rgb.shape}")
    p = checked_landmarks(landmarks_crop_px)
    size = image_rgb.shape[0]
    mm = mm_per_px or mm_per_crop_px(p)
    top = float(p[list(RIGHT_EYEBROW_RING + LEFT_EYEBROW_RING), 1].min()) - 2.0 / mm
    bottom = float(p[list(RIGHT_EYE_RING + LEFT_EYE_RING), 1].max()) + 22.0 / mm
    x0, x1 = float(p[list(FACE_OVAL), 0].min()), float(p[list(FACE_OVAL), 0].max())
    rows = slice(min(size, max(0, int(top))), min(size, max(0, int(bottom))))
    cols = slice(min(size, max(0, int(x0))), min(size, max(0, int(x1))))
    out = np.zeros((size, size), np.uint8)
    if rows.stop <= rows.start or cols.stop <= cols.start:
        return out.astype(bool)
    features = dilate_near(
        _filled(p, (RIGHT_EYE_RING, LEFT_EYE_RING, RIGHT_EYEBROW_RING, LEFT_EYEBROW_RING), size),
        _disk(1.5 / mm),
    ).astype(bool)
    # Edges are only kept in the band, so only the band is blurred and searched, with a
    # margin wider than the blur and Canny's reach: inside the band the edges are those of
    # the whole crop, for a third of the pixels (issue 25: this was the costliest zone).
    sigma = max(0.8, 0.3 / mm)
    pad = int(np.ceil(4 * sigma)) + 8
    win = (
        slice(max(0, rows.start - pad), min(size, rows.stop + pad)),
        slice(max(0, cols.start - pad), min(size, cols.stop + pad)),
    )
    grey = cv2.GaussianBlur(grey_from_rgb(image_rgb[win]).astype(np.uint8), (0, 0), sigma)
    window_edges = cv2.Canny(grey, *_GLASSES_CANNY)
    keep = np.zeros(window_edges.shape, bool)
    keep[rows.start - win[0].start : rows.stop - win[0].start,
         cols.start - win[1].start : cols.stop - win[1].start] = True  # fmt: skip
    window_edges[~keep | features[win]] = 0
    # A straight edge between two pixel rows splits its Canny pixels over both: thicken
    # the edges so the Hough vote of a long rim is not cut into short pieces. The Hough
    # search runs on the whole crop's canvas: its line bins depend on absolute positions.
    edges = np.zeros((size, size), np.uint8)
    edges[win] = cv2.dilate(window_edges, np.ones((3, 3), np.uint8))
    min_len = GLASSES_MIN_LENGTH_MM / mm
    lines = cv2.HoughLinesP(
        edges, 1, np.pi / 180, threshold=max(10, int(0.6 * min_len)),
        minLineLength=int(round(min_len)), maxLineGap=max(2, int(round(1.0 / mm))),
    )  # fmt: skip
    segments = np.asarray(lines).reshape(-1, 4) if lines is not None else np.zeros((0, 4))
    # A frame spans both eyes; one long lid crease or hair strand on one side does not.
    mid_x = float(p[168, 0])
    left = segments[:, [0, 2]].max(axis=1) > mid_x
    right = segments[:, [0, 2]].min(axis=1) < mid_x
    if left.any() and right.any():
        for x_a, y_a, x_b, y_b in segments:
            cv2.line(out, (int(x_a), int(y_a)), (int(x_b), int(y_b)), 1, 1)
    return dilate_near(out, _disk(GLASSES_MARGIN_MM / mm)).astype(bool)


def hair_mask(
    image_rgb: np.ndarray,
    landmarks_crop_px: np.ndarray,
    mm_per_px: float | None = None,
    max_distance: float = HAIR_MAX_SKIN_DISTANCE,
) -> np.ndarray:
    """Hair (fringe, stray strands) over the upper face: colours unlike the cheeks' skin.

    The cheeks (face skin between the lower lids + 5 mm and the nose tip) give a robust skin
    colour in CIELAB (median, MAD); pixels of the upper face (above the nose tip, inside
    the face oval) whose colour is more than ``max_distance`` robust standard deviations
    from it (chroma a*, b* fully, lightness at a quarter weight so shading does not count)
    are hair. On a grey crop (no chroma) only lightness decides.

    Returns:
        bool ``S x S`` (opened, then dilated by 1 mm).
    """
    p = checked_landmarks(landmarks_crop_px)
    size = int(image_rgb.shape[0])
    mm = mm_per_px or mm_per_crop_px(p)
    blurred = cv2.GaussianBlur(image_rgb, (0, 0), max(0.8, 0.3 / mm))
    lab = cv2.cvtColor(blurred, cv2.COLOR_RGB2LAB).astype(np.float32)
    oval = _filled(p, (FACE_OVAL,), size).astype(bool)
    ys = np.arange(size)[:, None]
    eyes_bottom = float(p[list(RIGHT_EYE_RING + LEFT_EYE_RING), 1].max())
    nose_tip = float(p[4, 1])
    features = _filled(p, (_NOSE_BOTTOM, LIPS_OUTER_RING), size).astype(bool)
    cheeks = oval & ~features & (ys > eyes_bottom + 5.0 / mm) & (ys < nose_tip)
    cheeks &= ~_band(p, FACE_OVAL, True, size, OUTLINE_BAND_MM / mm)
    if np.count_nonzero(cheeks) < 50:
        return np.zeros((size, size), bool)
    ref = lab[cheeks]
    med = np.median(ref, axis=0)
    spread = np.maximum(1.4826 * np.median(np.abs(ref - med), axis=0), (4.0, 1.5, 1.5))
    z = (lab - med) / spread
    dist = np.sqrt((0.5 * z[..., 0]) ** 2 + z[..., 1] ** 2 + z[..., 2] ** 2)
    upper = oval & (ys < nose_tip)
    hair = ((dist > max_distance) & upper).astype(np.uint8)
    hair = cv2.morphologyEx(hair, cv2.MORPH_OPEN, _disk(0.5 / mm))
    return cv2.dilate(hair, _disk(1.0 / mm)).astype(bool)


def exclusion_zones(
    image_rgb: np.ndarray,
    landmarks_crop_px: np.ndarray,
    mm_per_px: float | None = None,
    names: tuple[str, ...] = EXCLUSION_ZONES,
) -> dict[str, np.ndarray]:
    """Exclusion zones of a face crop (see the module docstring).

    Args:
        image_rgb: uint8 RGB ``S x S x 3`` crop (needed for the glasses edges and hair).
        landmarks_crop_px: (478, 2) landmarks in crop pixels.
        mm_per_px: the crop's scale; measured from the landmarks when ``None``.
        names: the zones to compute (default: all of :data:`EXCLUSION_ZONES`).

    Returns:
        ``{zone: bool S x S}`` in the order of ``names`` (zones may overlap).

    Raises:
        InvalidInputError: an unknown zone name, malformed landmarks.
    """
    unknown = [n for n in names if n not in EXCLUSION_ZONES]
    if unknown:
        raise InvalidInputError(
            f"unknown exclusion zone(s) {', '.join(unknown)}; "
            f"choose from {', '.join(EXCLUSION_ZONES)}"
        )
    p = checked_landmarks(landmarks_crop_px)
    size = int(image_rgb.shape[0])
    mm = mm_per_px or mm_per_crop_px(p)

    def dilated(rings: tuple[tuple[int, ...], ...], margin_mm: float) -> np.ndarray:
        return dilate_near(_filled(p, rings, size), _disk(margin_mm / mm)).astype(bool)

    makers = {
        "eyelids": lambda: dilated((RIGHT_EYE_RING, LEFT_EYE_RING), EYELID_MARGIN_MM),
        "brows": lambda: dilated((RIGHT_EYEBROW_RING, LEFT_EYEBROW_RING), BROW_MARGIN_MM),
        "hairline": lambda: _band(p, _OVAL_TOP, False, size, HAIRLINE_BAND_MM / mm),
        "outline": lambda: _band(p, FACE_OVAL, True, size, OUTLINE_BAND_MM / mm),
        "nostrils": lambda: dilated((_NOSE_BOTTOM,), NOSTRIL_MARGIN_MM),
        "lips": lambda: dilated((LIPS_OUTER_RING,), LIPS_MARGIN_MM),
        "glasses": lambda: glasses_mask(image_rgb, p, mm),
        "hair": lambda: hair_mask(image_rgb, p, mm),
    }
    return {name: makers[name]() for name in names}


def union(masks: dict[str, np.ndarray], names: tuple[str, ...] | None = None) -> np.ndarray:
    """Union of some (default: all) masks of a dict -> bool ``S x S``."""
    chosen = [masks[n] for n in (names or tuple(masks))]
    if not chosen:
        raise InvalidInputError("no masks to unite")
    out = np.zeros_like(chosen[0], dtype=bool)
    for m in chosen:
        out |= m
    return out
