"""The weak labeler's exclusion zones are the kiosk's: one implementation, in
:mod:`wds_edge.perception.exclusion` (the scores never count a pixel the labels leave out).

Re-exported here for the labeling code, scripts and tests that import it from ``train``.
"""

from __future__ import annotations

from wds_edge.perception.exclusion import (
    BROW_MARGIN_MM,
    EXCLUSION_ZONES,
    EYELID_MARGIN_MM,
    GLASSES_MIN_LENGTH_MM,
    HAIRLINE_BAND_MM,
    IRIS_DIAMETER_MM,
    OUTLINE_BAND_MM,
    exclusion_zones,
    glasses_mask,
    hair_mask,
    mm_per_crop_px,
    union,
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
