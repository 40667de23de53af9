"""From a frame to a result: the analyzer, kiosk session, result values, scoring
(paper Eq. 12), overlays and batch analysis of files.

The layer that joins perception (where the face is) and runtime (the network).
"""

from __future__ import annotations

from wds_edge.analysis.analyzer import AnalyzerConfig, WrinkleAnalyzer
from wds_edge.analysis.batch import InputOutcome, analyze_inputs, expand_inputs
from wds_edge.analysis.overlay import draw_crop_overlay, draw_overlay
from wds_edge.analysis.result import FrameResult, RegionScore
from wds_edge.analysis.scoring import IRIS_DIAMETER_MM, mm_per_px_from_iris, score_regions
from wds_edge.analysis.session import FinalResult, KioskSession, SessionConfig, SessionUpdate

__all__ = [
    "AnalyzerConfig",
    "WrinkleAnalyzer",
    "FrameResult",
    "RegionScore",
    "IRIS_DIAMETER_MM",
    "score_regions",
    "mm_per_px_from_iris",
    "SessionConfig",
    "SessionUpdate",
    "FinalResult",
    "KioskSession",
    "draw_overlay",
    "draw_crop_overlay",
    "InputOutcome",
    "expand_inputs",
    "analyze_inputs",
]
