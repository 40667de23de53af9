"""wds-edge: on-device facial wrinkle segmentation (Kim et al. 2023, weighted deep supervision).

The kiosk SDK. Never imports torch. ``__all__`` holds what a kiosk integrator needs: the
analyzer and its configuration, the kiosk session, result values, the before / after
comparison, frame sources, overlays, model metadata, backends and errors. Everything else
is public in its sub-package (each with its own ``__all__``), named after the stage a frame
passes through:

``capture`` (frames in) -> ``perception`` (landmarks, the one crop, regions, quality gates)
-> ``runtime`` (backends) -> ``analysis`` (analyzer, session, results, overlays); below them
``model`` (metadata, preprocessing, metrics) and the base modules ``errors``, ``io``,
``timing``; above them ``demo``, ``bench`` and ``cli``.

Example:
    >>> from wds_edge import WrinkleAnalyzer, read_image
    >>> with WrinkleAnalyzer() as analyzer:
    ...     print(analyzer.analyze(read_image("face.jpg")).to_dict()["scores"])
"""

from __future__ import annotations

from wds_edge._version import __version__
from wds_edge.analysis.analyzer import AnalyzerConfig, WrinkleAnalyzer
from wds_edge.analysis.compare import compare_results
from wds_edge.analysis.overlay import draw_crop_overlay, draw_overlay
from wds_edge.analysis.result import FrameResult, RegionScore
from wds_edge.analysis.session import FinalResult, KioskSession, SessionConfig, SessionUpdate
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
from wds_edge.io import read_image
from wds_edge.model.metadata import ModelMetadata
from wds_edge.perception.quality import FrameStatus, QualityConfig
from wds_edge.perception.regions import REGION_NAMES
from wds_edge.runtime import BACKEND_NAMES, available_backends, load_backend

__all__ = [
    "__version__",
    # analysis: analyzer, kiosk session, results, overlays
    "AnalyzerConfig",
    "WrinkleAnalyzer",
    "SessionConfig",
    "KioskSession",
    "SessionUpdate",
    "FinalResult",
    "FrameResult",
    "RegionScore",
    "FrameStatus",
    "QualityConfig",
    "REGION_NAMES",
    "draw_overlay",
    "draw_crop_overlay",
    "compare_results",
    # frames in
    "open_source",
    "Frame",
    "FrameSource",
    "read_image",
    # models and backends
    "ModelMetadata",
    "BACKEND_NAMES",
    "available_backends",
    "load_backend",
    # errors
    "WdsEdgeError",
    "InvalidInputError",
    "DataError",
    "ModelError",
    "MissingDependencyError",
    "BackendError",
    "CaptureError",
]
