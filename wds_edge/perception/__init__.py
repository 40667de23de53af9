"""Where the face is: MediaPipe landmarks (``landmarks``, the :class:`Face` value in ``face``,
the tiled small-face search in ``tiles``), the landmarker model file, the one face crop
:func:`kiosk_crop` (paper Table 1, ``crop``), facial regions and the frame quality gates.

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
from wds_edge.perception.landmarker_model import fetch_face_landmarker, resolve_face_landmarker
from wds_edge.perception.landmarks import Face, FaceLandmarker, FaceLandmarkerOptions
from wds_edge.perception.quality import FrameStatus, QualityConfig, assess_face, sharpness
from wds_edge.perception.regions import REGION_NAMES, region_masks, region_polygons, skin_mask

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
    "FrameStatus",
    "QualityConfig",
    "assess_face",
    "sharpness",
]
