"""Second-generation weak labels (``label --auto``, ``--auto-version 2``, the default).

The first generation (:mod:`wds_edge_train.labeling.auto`) took the strongest 7 % of dark ridges in
each region group. That marks the lower eyelid margins and the brow edges (the darkest
ridges of any face), and it gives a smooth young face as many "wrinkles" as an old one.
The second generation changes three things:

1. **Exclusion zones** (:mod:`wds_edge.perception.exclusion`, the same code the kiosk's
   scores use): eyelid margins and lash line, brows, a hairline band, nostrils, lips, a band
   along the face outline and detected glasses frames, each sized in millimetres of the face
   (iris ruler), are never labelled.
2. **Orientation priors** (:mod:`wds_edge_train.labeling.orientation`): the ridge response is
   weighted by how well the ridge's own Hessian direction matches the region's typical
   wrinkle direction (forehead horizontal, glabella vertical, crow's feet radial from the
   outer eye corner, under-eye along the lid).
3. **An absolute depth floor**: the ridge response is divided by the face's median skin
   brightness (a relative darkness, so exposure does not change it) and a ridge must be
   at least :data:`MIN_RELATIVE_DEPTH` deep, besides being in the region's top
   ``100 - percentile`` %. Smooth skin then gets few or no labels, deeply lined skin many.

Then, as before, paper Eq. 2 (rough mask x texture map) + the adaptive threshold, and the
zones are removed from the result once more (the threshold may bleed past the rough mask).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import grey_from_rgb, texture_map
from wds_edge.perception.exclusion import EXCLUSION_ZONES, exclusion_zones, mm_per_crop_px, union
from wds_edge.perception.quality import QualityConfig
from wds_edge_train.labeling.auto import AutoLabeler, _drop_small
from wds_edge_train.labeling.face_crop import gated_kiosk_crop
from wds_edge_train.labeling.labeled import LabeledImage
from wds_edge_train.labeling.orientation import orientation_weights
from wds_edge_train.labeling.thresholding import (
    DEFAULT_THRESHOLD,
    ThresholdMethod,
    threshold_texture,
)
from wds_edge_train.labeling.zone_preview import zones_preview

__all__ = [
    "RIDGE_SIGMAS_MM",
    "RIDGE_PERCENTILE_V2",
    "MIN_RELATIVE_DEPTH",
    "LabelParts",
    "rough_mask_v2",
    "AutoLabelerV2",
]

#: Ridge filter scales in millimetres of the face (fine lines to deep folds).
RIDGE_SIGMAS_MM = (0.25, 0.4, 0.6)
#: Ridge seeds: the top (100 - this) % of each region's oriented response ...
RIDGE_PERCENTILE_V2 = 92.0
#: ... and at least this deep: Sato response / median skin grey (both on a 0-1 scale).
MIN_RELATIVE_DEPTH = 0.015
#: Rough-mask pieces shorter than this (mm^2 of skin) are speckle / pores.
MIN_COMPONENT_MM2 = 2.0


@dataclass
class LabelParts:
    """Everything the v2 labeler computed for one crop (for previews and tests).

    Attributes:
        regions, zones: ``{name: bool S x S}`` wrinkle regions and exclusion zones.
        excluded: bool S x S union of the zones.
        response: float32 S x S oriented relative ridge depth (>= 0).
        rough: bool S x S rough mask; ``label``: bool S x S weak label (after Eq. 2).
        mm_per_px: the crop's scale (iris ruler).
        skin: bool S x S facial skin.
    """

    regions: dict[str, np.ndarray]
    zones: dict[str, np.ndarray]
    excluded: np.ndarray
    response: np.ndarray
    rough: np.ndarray
    mm_per_px: float
    label: np.ndarray | None = None
    skin: np.ndarray | None = None


def rough_mask_v2(
    crop_rgb: np.ndarray,
    landmarks_crop_px: np.ndarray,
    regions: dict[str, np.ndarray],
    skin: np.ndarray,
    percentile: float = RIDGE_PERCENTILE_V2,
    min_depth: float = MIN_RELATIVE_DEPTH,
    orient: bool = True,
) -> LabelParts:
    """Rough mask of one crop: oriented, depth-floored ridges inside the regions, zones out.

    Args:
        crop_rgb: uint8 RGB ``S x S x 3`` kiosk crop.
        landmarks_crop_px: (478, 2) landmarks in crop pixels.
        regions: the six region masks (:func:`wds_edge.perception.regions.region_masks`).
        skin: bool ``S x S`` facial skin (its median grey normalises the ridge depth).
        percentile: in (0, 100); per region.
        min_depth: relative ridge depth floor (>= 0).
        orient: apply the orientation priors (off: compare their effect).

    Returns:
        :class:`LabelParts` (``label`` not yet set).
    """
    from skimage.filters import sato

    if not 0.0 < percentile < 100.0:
        raise InvalidInputError(f"percentile must be in (0, 100), got {percentile}")
    if min_depth < 0:
        raise InvalidInputError(f"min_depth must be >= 0, got {min_depth}")
    mm = mm_per_crop_px(landmarks_crop_px)
    zones = exclusion_zones(crop_rgb, landmarks_crop_px, mm)
    excluded = union(zones, EXCLUSION_ZONES)
    grey = grey_from_rgb(crop_rgb) / 255.0
    skin_grey = float(np.median(grey[skin])) if skin.any() else float(np.median(grey))
    sigmas = [s / mm for s in RIDGE_SIGMAS_MM]
    response = sato(grey, sigmas=sigmas, black_ridges=True).astype(np.float32)
    response /= max(skin_grey, 0.05)
    if orient:
        response *= orientation_weights(crop_rgb, landmarks_crop_px, regions, sigmas[1])
    ridges = np.zeros(grey.shape, bool)
    for mask in regions.values():
        cand = mask & ~excluded
        if np.count_nonzero(cand) < 20:
            continue
        thr = max(float(np.percentile(response[cand], percentile)), min_depth)
        ridges |= (response > thr) & cand
    ridges = _drop_small(ridges, max(2, int(round(MIN_COMPONENT_MM2 / (mm * mm)))))
    k = max(3, 2 * int(round(0.1 / mm)) + 1)
    rough = cv2.dilate(ridges.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
    all_regions = np.zeros_like(rough)
    for m in regions.values():
        all_regions |= m
    rough &= all_regions & ~excluded
    return LabelParts(regions, zones, excluded, response, rough, mm, skin=skin)


class AutoLabelerV2(AutoLabeler):
    """Landmarks -> kiosk crop -> regions, zones, priors -> rough mask -> Eq. 2 + threshold.

    A :class:`wds_edge_train.labeling.auto.AutoLabeler` (same ``label(image_rgb)``, ``close()``,
    context manager, quality gates and crop) with the second-generation rough mask; its
    preview also shows the zones and the regions.
    """

    version = 2

    def __init__(
        self,
        crop_size_px: int = 640,
        landmarker_path: str | Path | None = None,
        threshold: ThresholdMethod | str = DEFAULT_THRESHOLD,
        percentile: float = RIDGE_PERCENTILE_V2,
        min_depth: float = MIN_RELATIVE_DEPTH,
        quality: QualityConfig | None = None,
    ) -> None:
        super().__init__(crop_size_px, landmarker_path, threshold, percentile, quality)
        self.min_depth = float(min_depth)

    def parts(self, crop_rgb: np.ndarray, landmarks_crop_px: np.ndarray) -> LabelParts:
        """Label one crop whose landmarks are known (crop space) -> :class:`LabelParts`.

        Raises:
            InvalidInputError: no ridge deep enough inside the regions.
        """
        from wds_edge.perception.regions import region_masks, skin_mask

        size = crop_rgb.shape[0]
        regions = region_masks(landmarks_crop_px, size)
        skin = skin_mask(landmarks_crop_px, size)
        parts = rough_mask_v2(
            crop_rgb, landmarks_crop_px, regions, skin, self.percentile, self.min_depth
        )
        if not parts.rough.any():
            raise InvalidInputError(
                "no ridge deep enough inside the face regions (smooth skin, a flat or blank "
                "image, or a face too small / blurred to show wrinkles)"
            )
        label = threshold_texture(texture_map(crop_rgb), parts.rough, self.threshold)
        parts.label = label & ~parts.excluded
        return parts

    def label(self, image_rgb: np.ndarray) -> LabeledImage:
        """Weak label of the largest face of a photo, in crop space (see the module docstring).

        Raises:
            ImageSkipped: the kiosk's quality gates refuse the photo (no face, too small,
                turned away, too dark / bright, too blurry, a grey face, a colour cast); the
                runner skips and reports it.
            InvalidInputError: no ridge deep enough inside the regions.
        """
        got = gated_kiosk_crop(self._landmarker, image_rgb, self.quality, self.crop_size_px)
        size, crop_rgb, transform = self.crop_size_px, got.crop_rgb, got.transform
        lm_crop = got.landmarks_crop_px
        parts = self.parts(crop_rgb, lm_crop)
        regions_all = union(parts.regions)
        face = parts.skin | regions_all
        n_label = int(np.count_nonzero(parts.label))
        stats = {
            "auto_version": 2,
            "faces_found": got.faces_found,
            "roll_deg": round(float(transform.roll_deg), 2),
            "crop_scale": round(float(transform.scale), 3),
            "mm_per_px": round(float(parts.mm_per_px), 4),
            "face_px": int(np.count_nonzero(face)),
            "region_px": int(np.count_nonzero(regions_all)),
            "excluded_px": {k: int(np.count_nonzero(v & face)) for k, v in parts.zones.items()},
            "label_fraction_of_face": round(n_label / max(1, int(np.count_nonzero(face))), 5),
            "label_fraction_of_regions": round(
                n_label / max(1, int(np.count_nonzero(regions_all))), 5
            ),
        }
        landmarks = {
            "landmarks_crop_px": np.round(lm_crop, 2).tolist(),
            "crop_size_px": size,
            "crop_transform": transform.to_dict(),
        }
        preview = zones_preview(crop_rgb, parts.label, parts.regions, parts.zones)
        return LabeledImage(
            crop_rgb, parts.label, parts.rough, face, stats, landmarks, preview, parts.excluded
        )
