"""From a frame to a result: the analyzer, the two-stage frame pipeline (landmarks of the next
frame while this one is segmented) and the live screen's stages, kiosk session (one fused
result per capture), the running fused score of a live screen, result values, scoring
(paper Eq. 12) on the counted skin regions, overlays, batch analysis of files and videos,
and the before/after comparison.

The layer that joins perception (where the face is) and runtime (the network).
"""

from __future__ import annotations

from wds_edge.analysis.analyzer import AnalyzerConfig, WrinkleAnalyzer
from wds_edge.analysis.batch import (
    InputOutcome,
    analyze_inputs,
    check_output_folder,
    expand_inputs,
)
from wds_edge.analysis.compare import Comparison, RegionChange, compare_results
from wds_edge.analysis.final import FinalResult, UsedFrame
from wds_edge.analysis.fusion import LANDMARK_TOLERANCE_MM, fuse_probabilities
from wds_edge.analysis.live_stages import LiveStages
from wds_edge.analysis.overlay import draw_crop_overlay, draw_overlay
from wds_edge.analysis.pipeline import (
    PIPELINE_MODES,
    FramePipeline,
    PipelineCounts,
    PipelineOutput,
    analyzer_stages,
)
from wds_edge.analysis.result import FrameResult, RegionScore
from wds_edge.analysis.running import RunningScore
from wds_edge.analysis.scoring import IRIS_DIAMETER_MM, mm_per_px_from_iris, score_regions
from wds_edge.analysis.session import KioskSession, SessionConfig, SessionUpdate
from wds_edge.analysis.video import analyze_video, is_video_file

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
    "UsedFrame",
    "KioskSession",
    "RunningScore",
    "PIPELINE_MODES",
    "FramePipeline",
    "PipelineCounts",
    "PipelineOutput",
    "analyzer_stages",
    "LiveStages",
    "LANDMARK_TOLERANCE_MM",
    "fuse_probabilities",
    "analyze_video",
    "is_video_file",
    "draw_overlay",
    "draw_crop_overlay",
    "InputOutcome",
    "expand_inputs",
    "analyze_inputs",
    "check_output_folder",
    "compare_results",
    "Comparison",
    "RegionChange",
]
