"""The pixels a wrinkle score counts: the six facial regions minus everything that is not skin.

The region polygons (:mod:`wds_edge.perception.regions`) follow the face mesh, but the mesh
is a few millimetres off on any face, so a polygon drawn under the eye holds the lid margin
and the lash line, one along the temple the face outline and hair, and the model marks those
dark lines as confidently as a wrinkle. The counted regions remove the exclusion zones of
the weak labeler (:mod:`wds_edge.perception.exclusion`, one implementation for both), sized
in millimetres of the face: lid margins, brows, the hairline band, the face outline,
nostrils, lips, and glasses frames when they are detected (:data:`SCORING_ZONES`). The
colour-based hair zone is left out: it follows the light, and a score must not.

``"overall"`` is the union of the counted regions (skin of the wrinkle-prone upper face),
never background or hair (issue 21).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.perception.exclusion import exclusion_zones, union
from wds_edge.perception.regions import REGION_NAMES, checked_landmarks, region_masks

__all__ = ["SCORING_ZONES", "SkinRegions", "skin_regions"]

#: Exclusion zones removed from the scoring regions.
SCORING_ZONES = ("eyelids", "brows", "hairline", "outline", "nostrils", "lips", "glasses")


@dataclass(frozen=True, eq=False)  # holds arrays: compare by identity
class SkinRegions:
    """The counted regions of one face crop.

    Attributes:
        masks: ``{region: bool S x S}`` in :data:`REGION_NAMES` order, skin only, in-frame.
        removed_px: ``{region: pixels}`` of the region's polygon (in-frame) removed by zones.
        zones: ``{zone: bool S x S}`` the exclusion zones (:data:`SCORING_ZONES`).
        excluded: bool S x S, the union of the zones.
    """

    masks: dict[str, np.ndarray]
    removed_px: dict[str, int]
    zones: dict[str, np.ndarray]
    excluded: np.ndarray

    @property
    def overall(self) -> np.ndarray:
        """bool S x S: the union of the counted regions (what ``"overall"`` counts)."""
        return union(self.masks)


def skin_regions(
    crop_rgb: np.ndarray,
    landmarks_crop_px: np.ndarray,
    in_frame: np.ndarray | None = None,
    *,
    mm_per_px: float | None = None,
    zones: tuple[str, ...] = SCORING_ZONES,
) -> SkinRegions:
    """The six scoring regions of a crop with the exclusion zones removed.

    Args:
        crop_rgb: uint8 RGB ``S x S x 3`` kiosk crop (the glasses search reads it).
        landmarks_crop_px: (478, 2) landmarks in crop pixels.
        in_frame: bool ``S x S`` crop pixels that come from the frame (``None``: all).
        mm_per_px: the crop's scale; measured from the iris landmarks when ``None``.
        zones: the exclusion zones to remove (default :data:`SCORING_ZONES`; ``()`` keeps
            the bare polygons).

    Returns:
        :class:`SkinRegions`.

    Raises:
        InvalidInputError: shapes that disagree, bad landmarks, an unknown zone.
    """
    if not isinstance(crop_rgb, np.ndarray) or crop_rgb.ndim != 3 or crop_rgb.shape[2] != 3:
        raise InvalidInputError(
            f"expected a uint8 S x S x 3 RGB crop, got {getattr(crop_rgb, 'shape', crop_rgb)}"
        )
    size = int(crop_rgb.shape[0])
    if crop_rgb.shape[1] != size:
        raise InvalidInputError(f"expected a square crop, got {crop_rgb.shape[1]}x{size}")
    frame = np.ones((size, size), bool) if in_frame is None else np.asarray(in_frame, bool)
    if frame.shape != (size, size):
        raise InvalidInputError(f"in_frame must be {size}x{size}, got {frame.shape}")
    points = checked_landmarks(landmarks_crop_px)
    polygons = {n: m & frame for n, m in region_masks(points, size).items()}
    zone_masks = exclusion_zones(crop_rgb, points, mm_per_px, names=tuple(zones))
    excluded = union(zone_masks) if zone_masks else np.zeros((size, size), bool)
    masks = {n: polygons[n] & ~excluded for n in REGION_NAMES}
    removed = {n: int(np.count_nonzero(polygons[n] & excluded)) for n in REGION_NAMES}
    return SkinRegions(masks=masks, removed_px=removed, zones=zone_masks, excluded=excluded)
