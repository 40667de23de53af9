"""Where the face is: MediaPipe landmarks (``landmarks``, the :class:`Face` value in ``face``,
the tiled small-face search in ``tiles``), the landmarker model file, the one face crop
:func:`kiosk_crop` (paper Table 1, ``crop``) and the per-frame :class:`FaceCrop` every stage
shares, facial regions, the exclusion zones and the counted skin regions, expression scores,
the frame quality gates, and the kiosk's locate step (``locate``: landmarks on the downscaled
frame, the quality gates, the colour gates) that the analyzer, calibration and labeling share.

Imports :mod:`wds_edge.capture` and the base modules, never the runtime or analysis.
"""

from __future__ import annotations

from wds_edge.perception.crop import (
    CropTransform,
    crop_box,
    eye_line_angle_deg,
    kiosk_crop,
    make_crop_transform,
)
from wds_edge.perception.exclusion import EXCLUSION_ZONES, exclusion_zones
from wds_edge.perception.expression import expression_prompt, expression_scores, expressive_parts
from wds_edge.perception.face_crop import FaceCrop, crop_face
from wds_edge.perception.landmarker_model import fetch_face_landmarker, resolve_face_landmarker
from wds_edge.perception.landmarks import Face, FaceLandmarker, FaceLandmarkerOptions
from wds_edge.perception.locate import (
    DEFAULT_MAX_LANDMARK_SIDE_PX,
    LocatedFace,
    colour_gate,
    detect_faces,
    gate_faces,
    locate_face,
)
from wds_edge.perception.quality import (
    FrameStatus,
    QualityConfig,
    assess_face,
    assess_face_crop,
    sharpness,
)
from wds_edge.perception.regions import REGION_NAMES, region_masks, region_polygons, skin_mask
from wds_edge.perception.skin_regions import SCORING_ZONES, SkinRegions, skin_regions

__all__ = [
    "Face",
    "FaceLandmarker",
    "FaceLandmarkerOptions",
    "resolve_face_landmarker",
    "fetch_face_landmarker",
    "CropTransform",
    "kiosk_crop",
    "make_crop_transform",
    "crop_box",
    "eye_line_angle_deg",
    "REGION_NAMES",
    "region_polygons",
    "region_masks",
    "skin_mask",
    "EXCLUSION_ZONES",
    "exclusion_zones",
    "SCORING_ZONES",
    "SkinRegions",
    "skin_regions",
    "FaceCrop",
    "crop_face",
    "expression_scores",
    "expressive_parts",
    "expression_prompt",
    "FrameStatus",
    "QualityConfig",
    "assess_face",
    "assess_face_crop",
    "sharpness",
    "DEFAULT_MAX_LANDMARK_SIDE_PX",
    "LocatedFace",
    "detect_faces",
    "gate_faces",
    "colour_gate",
    "locate_face",
]
