"""Orientation priors of the second-generation weak labeler.

Wrinkles of each region run in a typical direction: forehead lines roughly horizontal
(along the eye line), glabellar (frown) lines roughly vertical, crow's feet roughly radial
from the outer eye corner, under-eye lines roughly along the lower lid. A dark ridge
running across that direction is more likely a pore chain, a hair or a shadow edge.

The ridge's own direction comes from the Hessian of the grey crop (the same second
derivatives the Sato ridge filter uses): across a dark ridge the intensity curves up most
strongly, so the eigenvector of the largest Hessian eigenvalue points across the ridge and
the ridge runs perpendicular to it. Angles are in radians, measured in image coordinates
(x to the right, y down), modulo pi (a line has no sign).
"""

from __future__ import annotations

import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import grey_from_rgb

__all__ = [
    "REGION_TOLERANCE_DEG",
    "ridge_direction",
    "expected_direction",
    "direction_weight",
    "orientation_weights",
]

#: Full weight within this angle of the expected direction, falling linearly to 0 at twice it.
REGION_TOLERANCE_DEG: dict[str, float] = {
    "forehead": 30.0,
    "glabella": 30.0,
    "left_crows_feet": 35.0,
    "right_crows_feet": 35.0,
    "left_under_eye": 35.0,
    "right_under_eye": 35.0,
}
_RIGHT_OUTER, _LEFT_OUTER = 33, 263
# Lower lids, outer to inner corner (MediaPipe face mesh).
_RIGHT_LOWER_LID = (33, 7, 163, 144, 145, 153, 154, 155, 133)
_LEFT_LOWER_LID = (263, 249, 390, 373, 374, 380, 381, 382, 362)


def ridge_direction(image_rgb: np.ndarray, sigma_px: float = 2.0) -> np.ndarray:
    """Direction of the (dark) ridge through every pixel, from the Hessian eigenvectors.

    Args:
        image_rgb: uint8 RGB ``H x W x 3`` (or a grey ``H x W`` array, any dtype).
        sigma_px: Gaussian scale of the second derivatives (the ridge's half width).

    Returns:
        float32 ``H x W`` angles in [0, pi): 0 = horizontal (x axis), pi/2 = vertical.
    """
    from skimage.feature import hessian_matrix

    if sigma_px <= 0:
        raise InvalidInputError(f"sigma_px must be > 0, got {sigma_px}")
    grey = grey_from_rgb(image_rgb) if image_rgb.ndim == 3 else np.asarray(image_rgb, np.float32)
    h_rr, h_rc, h_cc = hessian_matrix(
        grey.astype(np.float32), sigma=sigma_px, order="rc", use_gaussian_derivatives=False
    )
    # Major eigenvector of [[Hxx, Hxy], [Hxy, Hyy]] (x = column, y = row): across the ridge.
    across = 0.5 * np.arctan2(2.0 * h_rc, h_cc - h_rr)
    return np.mod(across + np.pi / 2.0, np.pi).astype(np.float32)


def _nearest_tangent(
    points: np.ndarray, chain: tuple[int, ...], ys: np.ndarray, xs: np.ndarray
) -> np.ndarray:
    """Direction of the lid polyline's segment nearest to each (x, y)."""
    poly = points[list(chain)]
    seg_a, seg_b = poly[:-1], poly[1:]
    d = seg_b - seg_a
    length2 = np.maximum((d**2).sum(1), 1e-9)
    q = np.stack([xs, ys], 1).astype(np.float64)
    # Distance of every pixel to every segment (few segments: a dense matrix is fine).
    t = np.clip(((q[:, None, :] - seg_a[None]) * d[None]).sum(2) / length2[None], 0.0, 1.0)
    nearest = seg_a[None] + t[..., None] * d[None]
    which = np.argmin(((q[:, None, :] - nearest) ** 2).sum(2), axis=1)
    return np.arctan2(d[which, 1], d[which, 0])


def expected_direction(
    landmarks_crop_px: np.ndarray, region_masks: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The expected wrinkle direction of every pixel of each region.

    Args:
        landmarks_crop_px: (478, 2) landmarks in crop pixels.
        region_masks: ``{region: bool H x W}`` (names of :data:`REGION_TOLERANCE_DEG`).

    Returns:
        ``{region: float32 H x W}`` angles in [0, pi) (meaningful inside the region only).
    """
    p = np.asarray(landmarks_crop_px, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < 468:
        raise InvalidInputError(f"expected (478, 2) landmarks in crop pixels, got {p.shape}")
    eye = p[_LEFT_OUTER] - p[_RIGHT_OUTER]
    horizontal = float(np.arctan2(eye[1], eye[0]))
    out: dict[str, np.ndarray] = {}
    for name, mask in region_masks.items():
        angle = np.zeros(mask.shape, np.float32)
        ys, xs = np.nonzero(mask)
        if name == "forehead":
            angle[:] = horizontal
        elif name == "glabella":
            angle[:] = horizontal + np.pi / 2.0
        elif name.endswith("crows_feet") and ys.size:
            corner = p[_LEFT_OUTER if name.startswith("left") else _RIGHT_OUTER]
            angle[ys, xs] = np.arctan2(ys - corner[1], xs - corner[0])
        elif name.endswith("under_eye") and ys.size:
            lid = _LEFT_LOWER_LID if name.startswith("left") else _RIGHT_LOWER_LID
            angle[ys, xs] = _nearest_tangent(p, lid, ys, xs)
        elif name not in REGION_TOLERANCE_DEG:
            raise InvalidInputError(
                f"no orientation prior for region '{name}'; known: {sorted(REGION_TOLERANCE_DEG)}"
            )
        out[name] = np.mod(angle, np.pi).astype(np.float32)
    return out


def direction_weight(actual: np.ndarray, expected: np.ndarray, tolerance_deg: float) -> np.ndarray:
    """1 within ``tolerance_deg`` of the expected direction, linearly down to 0 at twice it.

    Args:
        actual, expected: angles in radians (any range; compared modulo pi).
        tolerance_deg: in (0, 45].

    Returns:
        float32 weights in [0, 1], the broadcast shape of the inputs.
    """
    if not 0.0 < tolerance_deg <= 45.0:
        raise InvalidInputError(f"tolerance_deg must be in (0, 45], got {tolerance_deg}")
    diff = np.abs(
        np.mod(np.asarray(actual) - np.asarray(expected) + np.pi / 2.0, np.pi) - np.pi / 2.0
    )
    tol = np.deg2rad(tolerance_deg)
    return np.clip((2.0 * tol - diff) / tol, 0.0, 1.0).astype(np.float32)


def orientation_weights(
    image_rgb: np.ndarray,
    landmarks_crop_px: np.ndarray,
    region_masks: dict[str, np.ndarray],
    sigma_px: float = 2.0,
) -> np.ndarray:
    """Per-pixel orientation weight in [0, 1] over the regions (0 outside them).

    Returns:
        float32 ``H x W``: :func:`direction_weight` of the ridge direction against the
        region's expected direction, with the region's :data:`REGION_TOLERANCE_DEG`.
    """
    actual = ridge_direction(image_rgb, sigma_px)
    expected = expected_direction(landmarks_crop_px, region_masks)
    out = np.zeros(actual.shape, np.float32)
    for name, mask in region_masks.items():
        w = direction_weight(actual[mask], expected[name][mask], REGION_TOLERANCE_DEG[name])
        out[mask] = w
    return out
