"""Reading frames of a video and writing them as a short clip: what the clip tests of the
session, the analyze command and the rotated-camera fixture share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np


def read_frames(path: Path, wanted: Iterable[int]) -> dict[int, np.ndarray]:
    """The frames of ``path`` whose indices are in ``wanted`` (0-based), by index."""
    wanted = set(wanted)
    cap = cv2.VideoCapture(str(path))
    frames, index = {}, 0
    try:
        while index <= max(wanted, default=-1):
            ok, frame = cap.read()
            if not ok:
                break
            if index in wanted:
                frames[index] = frame
            index += 1
    finally:
        cap.release()
    return frames


def write_clip(path: Path, frames: Sequence[np.ndarray], fourcc: str = "MJPG") -> Path:
    """Write ``frames`` (BGR, one size) as a 30 fps clip with the ``fourcc`` codec."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 30.0, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    assert path.stat().st_size > 0, f"OpenCV wrote nothing to {path}"
    return path
