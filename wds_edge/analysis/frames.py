"""Frame handling before the pipeline: the array layouts and colour orders the analyzer
accepts.

Finding the face and gating it (landmarks on a downscaled frame, the quality and colour
gates) is perception's locate step, :mod:`wds_edge.perception.locate`, which the INT8
calibration crops and the labelers run too."""

from __future__ import annotations

from typing import Any

import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.io import _to_bgr_uint8

__all__ = ["COLOUR_ORDERS", "as_frame_bgr"]

#: Colour orders an image array may be passed in (``colour_order=``).
COLOUR_ORDERS = ("bgr", "rgb")


def as_frame_bgr(image: Any, colour_order: str = "bgr") -> np.ndarray:
    """Accept uint8 BGR / RGB, grey, BGRA / RGBA and 16-bit arrays; return contiguous
    uint8 BGR HxWx3. ``colour_order`` is the order of ``image``'s channels.

    A 16-bit array must use the full 0-65535 range (its top 8 bits are kept); 10- or 12-bit
    camera data in a uint16 array (brightest value at most 4095) is refused with
    InvalidInputError: multiply 12-bit data by 16 (10-bit by 64) first."""
    if colour_order not in COLOUR_ORDERS:
        raise InvalidInputError(
            f"colour_order must be one of {', '.join(COLOUR_ORDERS)}, got {colour_order!r}; "
            "OpenCV (cv2.imread, cv2.VideoCapture) gives 'bgr', Pillow / imageio give 'rgb'"
        )
    if not isinstance(image, np.ndarray):
        raise InvalidInputError(
            f"expected an image as a numpy array (H x W x 3 BGR uint8), got {type(image).__name__}"
        )
    if image.ndim not in (2, 3) or image.shape[0] < 1 or image.shape[1] < 1:
        raise InvalidInputError(
            f"expected an H x W (grey) or H x W x 3 (BGR) image, got shape {image.shape}"
        )
    if colour_order == "rgb" and image.ndim == 3 and image.shape[2] in (3, 4):
        image = image[:, :, [2, 1, 0, 3][: image.shape[2]]]
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    return _to_bgr_uint8(image, "frame")
