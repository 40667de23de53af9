"""Frames in: cameras, streams, video files and images behind one ``open_source(uri)``.

Frame type and source interface, URI sources, the latest-frame grabber, the reconnecting
source, the rotation of a sideways-mounted camera's frames and frame extraction from
recordings. The lowest stage of the data path: imports
only :mod:`wds_edge.errors` and :mod:`wds_edge.io`.
"""

from __future__ import annotations

from wds_edge.capture.extract import FRAME_FORMATS, ExtractedFrames, extract_frames
from wds_edge.capture.frame import Frame, FrameSource, capture_fps, capture_size
from wds_edge.capture.grabber import SyncLiveSource, ThreadedSource
from wds_edge.capture.reconnect import ReconnectingSource
from wds_edge.capture.rotate import ROTATIONS, RotatedSource, check_rotation, rotate_image
from wds_edge.capture.sources import gstreamer_available, open_source, require_local_source

__all__ = [
    "Frame",
    "FrameSource",
    "capture_fps",
    "capture_size",
    "open_source",
    "require_local_source",
    "gstreamer_available",
    "ThreadedSource",
    "SyncLiveSource",
    "ReconnectingSource",
    "ROTATIONS",
    "RotatedSource",
    "check_rotation",
    "rotate_image",
    "FRAME_FORMATS",
    "ExtractedFrames",
    "extract_frames",
]
