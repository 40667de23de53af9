"""Frames in: cameras, streams, video files and images behind one ``open_source(uri)``.

Frame type and source interface, URI sources, the latest-frame grabber, the reconnecting
source and frame extraction from recordings. The lowest stage of the data path: imports
only :mod:`wds_edge.errors` and :mod:`wds_edge.io`.
"""

from __future__ import annotations

from wds_edge.capture.extract import FRAME_FORMATS, ExtractedFrames, extract_frames
from wds_edge.capture.frame import Frame, FrameSource, capture_fps, capture_size
from wds_edge.capture.grabber import SyncLiveSource, ThreadedSource
from wds_edge.capture.reconnect import ReconnectingSource
from wds_edge.capture.sources import gstreamer_available, open_source

__all__ = [
    "Frame",
    "FrameSource",
    "capture_fps",
    "capture_size",
    "open_source",
    "gstreamer_available",
    "ThreadedSource",
    "SyncLiveSource",
    "ReconnectingSource",
    "FRAME_FORMATS",
    "ExtractedFrames",
    "extract_frames",
]
