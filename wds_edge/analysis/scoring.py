"""Wrinkle scores per facial region: ratio (paper Eq. 12), count and length.

All inputs live in crop space (the model's square input, ``S x S`` pixels).

* **Wrinkle ratio** (Kim et al. 2023, Eq. 12): wrinkle pixels in the region divided
  by the region's pixels, in [0, 1].
* **Wrinkle count**: connected components of the wrinkle mask inside the region
  (8-connectivity), ignoring specks smaller than ``min_component_px``.
* **Total length**: the mask inside the region is thinned to a one-pixel skeleton
  (:func:`skimage.morphology.skeletonize`) and the skeleton's pixel-centre polyline is
  measured: a horizontal / vertical step between neighbouring skeleton pixels counts
  1 px, a diagonal step ``sqrt(2)`` px. A diagonal step is not counted where the two
  pixels also touch through a shared horizontal / vertical neighbour (an L-shaped
  corner), so a corner is 2 px long, not ``2 + sqrt(2)``. An isolated skeleton pixel
  has length 0; a straight run of ``n`` pixels has length ``n - 1``.
* **Millimetres**: the iris is about 11.7 mm wide in adults whatever the face, so
  ``mm_per_px = IRIS_DIAMETER_MM / iris_diameter_px`` (iris measured in the same
  crop space) turns pixel lengths into millimetres.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from wds_edge.analysis.result import RegionScore
from wds_edge.errors import InvalidInputError
from wds_edge.perception.face import IRIS_DIAMETER_MM
from wds_edge.perception.skin_regions import SkinRegions

__all__ = [
    "IRIS_DIAMETER_MM",
    "MIN_COMPONENT_PX",
    "OVERALL",
    "score_regions",
    "score_region",
    "skeleton_length_px",
    "skeletonize_mask",
    "count_components",
    "mm_per_px_from_iris",
    "score_skin_regions",
]

#: Components smaller than this many pixels are noise, not wrinkles (not counted).
MIN_COMPONENT_PX = 8
#: Above this many components one whole-image thinning pass is cheaper than one per component.
_MAX_WINDOWED_COMPONENTS = 150
#: Key of the whole-crop score in :func:`score_regions`'s result.
OVERALL = "overall"


def _as_bool_2d(mask: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.ndim != 2:
        shape = getattr(mask, "shape", None)
        raise InvalidInputError(f"{name} must be a 2-D mask (H x W), got shape {shape}")
    return mask if mask.dtype == bool else mask.astype(bool)


def mm_per_px_from_iris(iris_diameter_px: float | None) -> float | None:
    """Millimetres per pixel from an iris diameter measured in pixels (``None`` if unusable)."""
    if iris_diameter_px is None or not np.isfinite(iris_diameter_px) or iris_diameter_px <= 1.0:
        return None
    return IRIS_DIAMETER_MM / float(iris_diameter_px)


def skeleton_length_px(skeleton: np.ndarray) -> float:
    """Length of a one-pixel-wide skeleton in pixels (1 per straight step, sqrt(2) per diagonal).

    Args:
        skeleton: bool H x W, already thinned (e.g. by ``skimage.morphology.skeletonize``).

    Returns:
        Total polyline length through the pixel centres (see the module docstring).
    """
    s = _as_bool_2d(skeleton, "skeleton")
    straight = np.count_nonzero(s[:, :-1] & s[:, 1:]) + np.count_nonzero(s[:-1, :] & s[1:, :])
    # "\" diagonal: (r, c)-(r+1, c+1); shared 4-neighbours are (r, c+1) and (r+1, c).
    down = s[:-1, :-1] & s[1:, 1:] & ~s[:-1, 1:] & ~s[1:, :-1]
    # "/" diagonal: (r, c+1)-(r+1, c); shared 4-neighbours are (r, c) and (r+1, c+1).
    up = s[:-1, 1:] & s[1:, :-1] & ~s[:-1, :-1] & ~s[1:, 1:]
    diagonal = np.count_nonzero(down) + np.count_nonzero(up)
    return float(straight + np.sqrt(2.0) * diagonal)


def count_components(mask: np.ndarray, min_component_px: int = MIN_COMPONENT_PX) -> int:
    """Number of 8-connected components of ``mask`` with at least ``min_component_px`` pixels."""
    m = _as_bool_2d(mask, "mask")
    if not m.any():
        return 0
    # Labels + bincount: cheaper than connectedComponentsWithStats, which also computes
    # bounding boxes and centroids we do not need.
    n, labels = cv2.connectedComponents(m.view(np.uint8), connectivity=8)
    areas = np.bincount(labels.ravel(), minlength=n)[1:]  # label 0 is the background
    return int(np.count_nonzero(areas >= max(1, int(min_component_px))))


def _bbox(region: np.ndarray) -> tuple[slice, slice] | None:
    """Slices of the bounding box of a region's pixels (``None`` for an empty region)."""
    x, y, w, h = cv2.boundingRect(region.view(np.uint8))
    if w == 0 or h == 0:
        return None
    return slice(y, y + h), slice(x, x + w)


def _union_bbox(masks: list[np.ndarray]) -> tuple[slice, slice] | None:
    """Slices of the bounding box of all the masks' pixels (``None`` when all are empty)."""
    boxes = [b for b in (_bbox(m) for m in masks) if b is not None]
    if not boxes:
        return None
    return (
        slice(min(b[0].start for b in boxes), max(b[0].stop for b in boxes)),
        slice(min(b[1].start for b in boxes), max(b[1].stop for b in boxes)),
    )


def _labels(mask: np.ndarray) -> tuple[int, np.ndarray]:
    """8-connected component labels of a bool mask: (count including background, int32 H x W)."""
    return cv2.connectedComponents(mask.view(np.uint8), connectivity=8)


def skeletonize_mask(mask: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """One-pixel skeleton of a bool mask (:func:`skimage.morphology.skeletonize`).

    Each 8-connected component is thinned inside its own bounding box: the result is
    identical (thinning only looks at 3 x 3 neighbourhoods, and separate components
    are never neighbours) and a sparse wrinkle mask costs a fraction of a full pass.
    Speckle (more than 150 components) is thinned in one whole-image pass instead.

    Args:
        mask: bool H x W.
        labels: its component labels when the caller already has them.
    """
    m = _as_bool_2d(mask, "mask")
    out = np.zeros_like(m)
    if not m.any():
        return out
    from scipy.ndimage import find_objects  # lazy: scipy / skimage imports are slow
    from skimage.morphology import skeletonize

    if labels is None:
        _, labels = _labels(m)
    if int(labels.max()) > _MAX_WINDOWED_COMPONENTS:  # speckle: one pass beats many calls
        return skeletonize(m)
    for i, window in enumerate(find_objects(labels), start=1):
        if window is not None:
            out[window] |= skeletonize(labels[window] == i)
    return out


def score_region(
    mask: np.ndarray,
    skeleton: np.ndarray,
    region: np.ndarray,
    mm_per_px: float | None,
    min_component_px: int = MIN_COMPONENT_PX,
) -> RegionScore:
    """Score one region (all bool S x S): see :func:`score_regions`."""
    box = _bbox(region)
    if box is None:
        return RegionScore(0, 0, 0.0, 0, 0.0, 0.0 if mm_per_px is not None else None)
    region, mask, skeleton = region[box], mask[box], skeleton[box]  # work in the bounding box
    area_px = int(np.count_nonzero(region))
    inside = mask & region
    wrinkle_px = int(np.count_nonzero(inside))
    length_px = skeleton_length_px(skeleton & region) if wrinkle_px else 0.0
    return RegionScore(
        area_px=area_px,
        wrinkle_px=wrinkle_px,
        wrinkle_ratio=(wrinkle_px / area_px) if area_px else 0.0,
        wrinkle_count=count_components(inside, min_component_px) if wrinkle_px else 0,
        total_length_px=length_px,
        total_length_mm=(length_px * mm_per_px) if mm_per_px is not None else None,
    )


def score_regions(
    mask_crop: np.ndarray,
    region_masks: Mapping[str, np.ndarray],
    mm_per_px: float | None,
    *,
    overall_mask: np.ndarray | None = None,
    min_component_px: int = MIN_COMPONENT_PX,
) -> dict[str, RegionScore]:
    """Score the wrinkle mask overall and in each facial region (Eq. 12, count, length).

    Args:
        mask_crop: bool ``S x S`` wrinkle mask in crop space (probability > threshold).
        region_masks: region name -> bool ``S x S`` mask (from ``region_masks``).
        mm_per_px: crop-space millimetres per pixel (:func:`mm_per_px_from_iris`), or
            ``None`` to leave ``total_length_mm`` empty.
        overall_mask: pixels the ``"overall"`` score counts; ``None`` means the whole crop.
            The analyzer passes the crop's in-frame pixels so padding does not dilute it;
            wrinkle pixels outside it are ignored in every score.
        min_component_px: smallest component counted as a wrinkle.

    Returns:
        ``{"overall": RegionScore, <region>: RegionScore, ...}`` in that order.

    Raises:
        InvalidInputError: masks that are not 2-D or do not share the crop's shape.
    """
    mask = _as_bool_2d(mask_crop, "mask_crop")
    regions = {name: _as_bool_2d(m, f"region mask '{name}'") for name, m in region_masks.items()}
    whole = (
        np.ones_like(mask) if overall_mask is None else _as_bool_2d(overall_mask, "overall_mask")
    )
    for name, m in [(OVERALL, whole), *regions.items()]:
        if m.shape != mask.shape:
            raise InvalidInputError(
                f"region mask '{name}' has shape {m.shape}, the wrinkle mask {mask.shape}; "
                "build both in the same crop space"
            )
    if overall_mask is not None:
        mask = mask & whole  # wrinkle pixels outside the counted area (padding) count nowhere
        # Nothing outside the counted area and the regions is scored, so the whole scoring
        # (labels, thinning, per-region boxes) runs in their bounding box: the same numbers
        # for half the pixels of a kiosk crop (issue 25).
        box = _union_bbox([whole, *regions.values()])
        if box is not None:  # (None: nothing to count anywhere, every score is 0)
            mask, whole = mask[box], whole[box]
            regions = {name: m[box] for name, m in regions.items()}
    min_px = max(1, int(min_component_px))
    if mask.any():
        n, labels = _labels(mask)
        skeleton = skeletonize_mask(mask, labels)
        areas = np.bincount(labels.ravel(), minlength=n)[1:]
        overall_count = int(np.count_nonzero(areas >= min_px))
    else:
        skeleton, overall_count = mask, 0
    # "overall" reuses the labels and skeleton of the whole mask; regions work in their boxes.
    area_px, wrinkle_px = int(np.count_nonzero(whole)), int(np.count_nonzero(mask))
    length_px = skeleton_length_px(skeleton) if wrinkle_px else 0.0
    scores = {
        OVERALL: RegionScore(
            area_px=area_px,
            wrinkle_px=wrinkle_px,
            wrinkle_ratio=(wrinkle_px / area_px) if area_px else 0.0,
            wrinkle_count=overall_count,
            total_length_px=length_px,
            total_length_mm=(length_px * mm_per_px) if mm_per_px is not None else None,
        )
    }
    for name, region in regions.items():
        scores[name] = score_region(mask, skeleton, region, mm_per_px, min_px)
    return scores


def score_skin_regions(
    mask_crop: np.ndarray, regions: SkinRegions, mm_per_px: float | None
) -> dict[str, RegionScore]:
    """Score a wrinkle mask on the counted skin regions (issue 21).

    ``"overall"`` is the union of the counted regions; each score's ``removed_px`` says how
    much of its outline was left out as not skin (``"overall"``: the sum).

    Args:
        mask_crop: bool ``S x S`` wrinkle mask in crop space.
        regions: :func:`wds_edge.perception.skin_regions.skin_regions` of the same crop.
        mm_per_px: crop-space millimetres per pixel, or ``None``.

    Returns:
        ``{"overall": RegionScore, <region>: RegionScore, ...}``.
    """
    scores = score_regions(mask_crop, regions.masks, mm_per_px, overall_mask=regions.overall)
    for name, removed in regions.removed_px.items():
        scores[name].removed_px = int(removed)
    scores[OVERALL].removed_px = int(sum(regions.removed_px.values()))
    return scores
