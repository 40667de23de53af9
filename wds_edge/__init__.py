"""wds-edge: on-device facial wrinkle segmentation (Kim et al. 2023, weighted deep supervision).

The kiosk SDK. Never imports torch. Public names are listed in ``__all__``.
"""

from __future__ import annotations

from wds_edge._version import __version__  # noqa: E402
from wds_edge.analysis.analyzer import AnalyzerConfig, WrinkleAnalyzer
from wds_edge.analysis.overlay import draw_crop_overlay, draw_overlay
from wds_edge.analysis.result import FrameResult, RegionScore
from wds_edge.analysis.scoring import IRIS_DIAMETER_MM, score_regions
from wds_edge.analysis.session import FinalResult, KioskSession, SessionConfig, SessionUpdate
from wds_edge.capture.extract import ExtractedFrames, extract_frames
from wds_edge.capture.sources import Frame, FrameSource, open_source
from wds_edge.errors import (
    BackendError,
    CaptureError,
    DataError,
    InvalidInputError,
    MissingDependencyError,
    ModelError,
    WdsEdgeError,
)
from wds_edge.io import read_image, write_image_atomic, write_json_atomic
from wds_edge.model.metadata import ModelMetadata
from wds_edge.model.metrics import segmentation_metrics
from wds_edge.model.preprocessing import Preprocessing, model_input, network_channels, texture_map
from wds_edge.perception.crop import CropTransform, crop_box, make_crop_transform
from wds_edge.perception.landmarker_model import fetch_face_landmarker, resolve_face_landmarker
from wds_edge.perception.landmarks import Face, FaceLandmarker, FaceLandmarkerOptions
from wds_edge.perception.quality import FrameStatus, QualityConfig, assess_face, sharpness
from wds_edge.perception.regions import REGION_NAMES, region_masks, region_polygons, skin_mask
from wds_edge.runtime import BACKEND_NAMES, available_backends, load_backend

__all__ = [
    "__version__",
    "WdsEdgeError",
    "InvalidInputError",
    "DataError",
    "ModelError",
    "MissingDependencyError",
    "BackendError",
    "CaptureError",
    "read_image",
    "write_image_atomic",
    "write_json_atomic",
    "segmentation_metrics",
    "ModelMetadata",
    "Preprocessing",
    "model_input",
    "network_channels",
    "texture_map",
    # perception (landmarks, crop, regions, quality gates, model store)
    "Face",
    "FaceLandmarker",
    "FaceLandmarkerOptions",
    "resolve_face_landmarker",
    "fetch_face_landmarker",
    "crop_box",
    "CropTransform",
    "make_crop_transform",
    "REGION_NAMES",
    "region_polygons",
    "region_masks",
    "skin_mask",
    "FrameStatus",
    "QualityConfig",
    "assess_face",
    "sharpness",
    "open_source",
    "Frame",
    "FrameSource",
    "extract_frames",
    "ExtractedFrames",
    # analysis (backends, analyzer, scores, results, kiosk session, overlays)
    "BACKEND_NAMES",
    "available_backends",
    "load_backend",
    "AnalyzerConfig",
    "WrinkleAnalyzer",
    "FrameResult",
    "RegionScore",
    "IRIS_DIAMETER_MM",
    "score_regions",
    "SessionConfig",
    "SessionUpdate",
    "FinalResult",
    "KioskSession",
    "draw_overlay",
    "draw_crop_overlay",
]
