"""Automatic rough masks for unlabeled face photos -> WEAK semi-automatic labels.

No human draws anything: face landmarks give the wrinkle regions (forehead, glabella,
crow's feet, under-eyes) of the kiosk crop, a ridge filter (Sato tubeness for dark
ridges at wrinkle scales) finds line-like dark structures inside them, and the
strongest of those (a percentile of the response within the regions) become the rough
mask ``M``. Eq. 2 + the adaptive threshold then run as for a human rough annotation.

The result is a weak label: it contains whatever dark ridges the regions hold (also
shadows, fine hair, skin texture) and misses faint wrinkles. Use it to bootstrap a model;
measure accuracy on human-annotated labels.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import grey_from_rgb, texture_map
from wds_edge.perception.exclusion import union
from wds_edge.perception.quality import QualityConfig
from wds_edge_train.labeling.face_crop import gated_kiosk_crop, landmarks_record
from wds_edge_train.labeling.labeled import LabeledImage
from wds_edge_train.labeling.thresholding import (
    DEFAULT_THRESHOLD,
    ThresholdMethod,
    threshold_texture,
)

#: Region groups with their own ridge percentile (also the baselines' fair-protocol areas).
REGION_GROUPS: dict[str, tuple[str, ...]] = {
    "forehead": ("forehead", "glabella"),
    "eyes": ("left_crows_feet", "right_crows_feet", "left_under_eye", "right_under_eye"),
}

__all__ = [
    "REGION_GROUPS",
    "RIDGE_SIGMAS_PX",
    "RIDGE_PERCENTILE",
    "ridge_response",
    "auto_rough_mask",
    "check_crop_size_px",
    "AutoLabeler",
    "MIN_CROP_SIZE_PX",
]

#: Sato scales in pixels of a 640 px crop: wrinkles there are about 2-6 px wide.
RIDGE_SIGMAS_PX = (1.0, 1.5, 2.0)
#: Ridge seeds = the top (100 - this) % of each region group's Sato response. 93 gives
#: labels of 0.8-3 % (mean 1.75 %) of the face skin on ../shared/data/faces, near the
#: paper's data set (about 1.5 %).
RIDGE_PERCENTILE = 93.0
#: Rough-mask pieces smaller than this (px at 640) are speckle, not wrinkles.
MIN_ROUGH_COMPONENT_PX = 60
#: The smallest face crop the labeler makes. The kiosk crop spans about 150 mm of face, so
#: a crop of S px has about 150 / S mm per pixel, and the finest ridge scale both
#: generations look for (Sato sigma 0.25 mm: RIDGE_SIGMAS_PX[0] at 640, RIDGE_SIGMAS_MM[0])
#: is about 0.3 px at 192. Below that the filter's sub-pixel Gaussians cannot resolve a
#: wrinkle and its response collapses (the 99th percentile on biden2: 0.045 at 640, 0.043 at
#: 256, 0.032 at 192, 0.016 at 160, 0.002 at 128), under the depth floor of generation 2.
#: Measured on shared/data/faces + faces_pd (29 faces the quality gates pass), generation 2:
#: 128 px labels 2 and fails 27, 160 px fails 1, 192 px and more label all 29.
MIN_CROP_SIZE_PX = 192


def check_crop_size_px(crop_size_px: int) -> None:
    """Raise :class:`InvalidInputError` for a face crop too small to label automatically
    (:data:`MIN_CROP_SIZE_PX`)."""
    if int(crop_size_px) < MIN_CROP_SIZE_PX:
        raise InvalidInputError(
            f"--auto needs a face crop of at least {MIN_CROP_SIZE_PX} px, got --crop-size "
            f"{crop_size_px}: a smaller crop has over 0.8 mm of face per pixel, too coarse for "
            "the ridge filter to find wrinkles (at 128 px most faces fail). Label at "
            f"--crop-size {MIN_CROP_SIZE_PX} or more (the model's input size; 640 is the paper's)"
        )


def ridge_response(image_rgb: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Sato tubeness of dark ridges of a uint8 RGB image, float32 HxW >= 0.

    ``scale`` multiplies :data:`RIDGE_SIGMAS_PX` (image pixels per 640-crop pixel).
    """
    from skimage.filters import sato

    grey = grey_from_rgb(image_rgb) / 255.0
    sigmas = [s * scale for s in RIDGE_SIGMAS_PX]
    return sato(grey, sigmas=sigmas, black_ridges=True).astype(np.float32)


def _drop_small(mask: np.ndarray, min_px: int) -> np.ndarray:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_px
    return keep[labels]


def auto_rough_mask(
    image_rgb: np.ndarray,
    regions_mask: np.ndarray | list[np.ndarray],
    percentile: float = RIDGE_PERCENTILE,
    scale: float = 1.0,
) -> np.ndarray:
    """Rough mask = regions AND (ridge response above its ``percentile`` within each region
    group), small pieces dropped, slightly dilated (a rough stroke covers a margin of skin).

    Args:
        image_rgb: uint8 RGB HxWx3 face crop.
        regions_mask: bool HxW union of the wrinkle regions, or a list of such masks
            (region groups, e.g. forehead and eye area) each with its own percentile, so
            the deep crow's feet do not take the whole quota from faint forehead lines.
        percentile: in (0, 100): higher keeps fewer, stronger ridges.
        scale: image pixels per 640-crop pixel.

    Returns:
        bool HxW rough mask inside ``regions_mask`` (may be empty).
    """
    if not 0.0 < percentile < 100.0:
        raise InvalidInputError(f"percentile must be in (0, 100), got {percentile}")
    groups = [
        np.asarray(m, dtype=bool)
        for m in (regions_mask if isinstance(regions_mask, list) else [regions_mask])
    ]
    regions = np.zeros(image_rgb.shape[:2], dtype=bool)
    for g in groups:
        regions |= g
    if not regions.any():
        return regions
    response = ridge_response(image_rgb, scale)
    ridges = np.zeros_like(regions)
    for g in groups:
        if g.any():
            ridges |= (response > float(np.percentile(response[g], percentile))) & g
    ridges = _drop_small(ridges, max(1, int(round(MIN_ROUGH_COMPONENT_PX * scale * scale))))
    k = max(3, 2 * int(round(scale)) + 1)
    dilated = cv2.dilate(ridges.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    return dilated & regions


class AutoLabeler:
    """Landmarks -> kiosk crop -> regions -> ridge rough mask -> Eq. 2 + threshold.

    One MediaPipe FaceLandmarker is kept open for a batch; use as a context manager or
    call :meth:`close`.
    """

    def __init__(
        self,
        crop_size_px: int = 640,
        landmarker_path: str | Path | None = None,
        threshold: ThresholdMethod | str = DEFAULT_THRESHOLD,
        percentile: float = RIDGE_PERCENTILE,
        quality: QualityConfig | None = None,
    ) -> None:
        from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions

        check_crop_size_px(crop_size_px)
        self.quality = quality or QualityConfig()
        self.crop_size_px = int(crop_size_px)
        self.threshold = ThresholdMethod(threshold)
        self.percentile = float(percentile)
        self._landmarker = FaceLandmarker(
            FaceLandmarkerOptions(model_path=landmarker_path, mode="image", max_faces=2)
        )

    def label(self, image_rgb: np.ndarray) -> LabeledImage:
        """Weak label of the largest face of a photo, in crop space.

        Returns:
            :class:`LabeledImage` with the face crop (``crop_size_px`` square RGB), label,
            rough mask, fov (face skin + regions) and ``stats`` (face / region pixels,
            label fraction of face and regions, faces found, roll).

        Raises:
            ImageSkipped: the kiosk's quality gates refuse the photo (no face, too small,
                turned away, too dark / bright, too blurry, a grey face, a colour cast); the
                runner skips and reports it.
            InvalidInputError: no ridge inside the regions.
        """
        from wds_edge.perception.regions import region_masks, skin_mask

        got = gated_kiosk_crop(self._landmarker, image_rgb, self.quality, self.crop_size_px)
        size, crop_rgb, transform = self.crop_size_px, got.crop_rgb, got.transform
        lm_crop = got.landmarks_crop_px
        named = region_masks(lm_crop, size)
        groups = [union({k: named[k] for k in g}) for g in REGION_GROUPS.values()]
        regions = union(named)
        face = skin_mask(lm_crop, size) | regions
        rough = auto_rough_mask(crop_rgb, groups, self.percentile, scale=size / 640.0)
        if not rough.any():
            raise InvalidInputError("no ridge found inside the face regions (flat or blank image?)")
        label = threshold_texture(texture_map(crop_rgb), rough, self.threshold)
        n_label = int(np.count_nonzero(label))
        stats = {
            "faces_found": got.faces_found,
            "roll_deg": round(float(transform.roll_deg), 2),
            # > 2: a small face blown up to the crop; its weak label is blurrier / blobbier.
            "crop_scale": round(float(transform.scale), 3),
            "face_px": int(np.count_nonzero(face)),
            "region_px": int(np.count_nonzero(regions)),
            "label_fraction_of_face": round(n_label / max(1, int(np.count_nonzero(face))), 5),
            "label_fraction_of_regions": round(n_label / max(1, int(np.count_nonzero(regions))), 5),
        }
        return LabeledImage(crop_rgb, label, rough, face, stats, landmarks_record(got, size))

    def close(self) -> None:
        """Release the landmarker (idempotent)."""
        self._landmarker.close()

    def __enter__(self) -> AutoLabeler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
