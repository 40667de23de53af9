"""Small-face search: when the landmarker finds no face in a large frame, run it again on
overlapping tiles (half-tile stride) and merge the duplicates.

A face far from a wide-angle kiosk camera can be too small for MediaPipe's detector on the
whole frame but large enough inside a tile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from wds_edge.perception.face import Face

__all__ = ["MIN_TILED_SIDE_PX", "search_tiles"]

logger = logging.getLogger(__name__)

#: Frames smaller than this (longest side, px) are not tiled for small faces.
MIN_TILED_SIDE_PX = 640


def search_tiles(image: np.ndarray, detect: Callable[[np.ndarray], list[Face]]) -> list[Face]:
    """Faces found by ``detect`` on overlapping tiles of ``image``, in frame pixels.

    Args:
        image: (H, W, 3) uint8 RGB frame.
        detect: the landmarker on one tile (a contiguous (h, w, 3) uint8 RGB array), in
            tile pixels.

    Returns:
        One face per person (boxes overlapping by IoU >= 0.3 are duplicates; the copy
        farthest from its tile's border is kept), unsorted.
    """
    height, width = image.shape[:2]
    tile = max(MIN_TILED_SIDE_PX // 2, int(min(height, width) * 0.5))
    found: list[tuple[float, Face]] = []
    for y0 in _tile_starts(height, tile):
        for x0 in _tile_starts(width, tile):
            crop = np.ascontiguousarray(image[y0 : y0 + tile, x0 : x0 + tile])
            for face in detect(crop):
                x1, y1, x2, y2 = face.bbox_px
                margin = min(x1, y1, crop.shape[1] - x2, crop.shape[0] - y2)
                found.append((margin, _shift_face(face, x0, y0, width)))
    found.sort(key=lambda item: item[0], reverse=True)  # most interior first
    kept: list[Face] = []
    for _, face in found:
        if all(_iou(face.bbox_px, other.bbox_px) < 0.3 for other in kept):
            kept.append(face)
    logger.debug("small-face search on %dx%d tiles found %d faces", tile, tile, len(kept))
    return kept


def _tile_starts(length: int, tile: int) -> list[int]:
    if length <= tile:
        return [0]
    stride = max(1, tile // 2)
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def _shift_face(face: Face, dx: float, dy: float, frame_width: int) -> Face:
    x1, y1, x2, y2 = face.bbox_px
    shift = np.array([dx, dy], dtype=np.float32)
    return Face(
        landmarks_px=face.landmarks_px + shift,
        # z is already in pixels (MediaPipe z * tile width, the scale of x): no change.
        landmarks_z=face.landmarks_z,
        bbox_px=(x1 + dx, y1 + dy, x2 + dx, y2 + dy),
        yaw_deg=face.yaw_deg,
        pitch_deg=face.pitch_deg,
        roll_deg=face.roll_deg,
        pose_source=face.pose_source,
        transformation_matrix=face.transformation_matrix,
        blendshapes=face.blendshapes,
    )


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
