"""Turning a mounted-sideways or upside-down camera's frames upright (``rotate=``).

Kiosk cameras are often mounted rotated (a portrait display with the camera on its side,
or upside down); the analyzer needs upright faces. :func:`rotate_image` turns one image by
0 / 90 / 180 / 270 degrees clockwise with ``cv2.rotate`` (a lossless copy), and
:class:`RotatedSource` applies it to every frame a :class:`FrameSource` yields;
:func:`wds_edge.capture.sources.open_source` wraps every kind of source in it when
``rotate`` is not 0, so cameras, streams, video files and still images are turned alike.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import cv2
import numpy as np

from wds_edge.capture.frame import Frame, FrameSource
from wds_edge.errors import InvalidInputError

__all__ = ["ROTATIONS", "check_rotation", "rotate_image", "RotatedSource"]

#: The rotations ``rotate=`` takes, in degrees clockwise.
ROTATIONS = (0, 90, 180, 270)

_CV2_CODES = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}


def check_rotation(value: Any, what: str = "rotate") -> int:
    """``value`` as a rotation in degrees clockwise, one of :data:`ROTATIONS`.

    Args:
        value: the rotation given (an int; ``90.0`` is taken as 90).
        what: the setting's name for the message (``"--rotate"`` in the CLI).

    Raises:
        InvalidInputError: anything else (the message names the allowed values).
    """
    ok = (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and float(value) in ROTATIONS
    )
    if not ok:
        raise InvalidInputError(
            f"{what} must be one of {', '.join(map(str, ROTATIONS))} (degrees clockwise that "
            f"turn the camera's frames upright), got {value!r}: 90 for a camera mounted on "
            "its left side, 270 on its right side, 180 upside down"
        )
    return int(value)


def rotate_image(image: np.ndarray, degrees: int) -> np.ndarray:
    """``image`` turned ``degrees`` clockwise (0 returns it as it is; else a new array).

    Raises:
        InvalidInputError: ``degrees`` is not one of :data:`ROTATIONS`.
    """
    degrees = check_rotation(degrees)
    return image if degrees == 0 else cv2.rotate(image, _CV2_CODES[degrees])


class RotatedSource(FrameSource):
    """``source`` with every frame turned ``degrees`` clockwise.

    ``size`` is the turned frames' (width and height swap at 90 / 270); everything else
    (``uri``, ``fps``, ``is_live``, the grabber's ``reconnects`` / ``dropped_frames``, a
    file's ``ended_early`` / ``frames_read`` ...) is the wrapped source's. Frames keep their
    index and times. ``close()`` closes the wrapped source.
    """

    def __init__(self, source: FrameSource, degrees: int) -> None:
        self._source = source
        self.degrees = check_rotation(degrees)

    @property
    def wrapped(self) -> FrameSource:
        """The source whose frames are turned."""
        return self._source

    # FrameSource declares these as class attributes, so __getattr__ would not reach them
    @property  # type: ignore[override]
    def uri(self) -> str:
        return self._source.uri

    @property  # type: ignore[override]
    def fps(self) -> float | None:
        return self._source.fps

    @property  # type: ignore[override]
    def is_live(self) -> bool:
        return self._source.is_live

    @property  # type: ignore[override]
    def expected_frames(self) -> int | None:
        return self._source.expected_frames

    @property  # type: ignore[override]
    def ended_early(self) -> bool:
        return self._source.ended_early

    @property  # type: ignore[override]
    def size(self) -> tuple[int, int] | None:
        size = self._source.size
        if size is None or self.degrees in (0, 180):
            return size
        return (size[1], size[0])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_source":  # copy / pickle probes, no recursion
            raise AttributeError(name)
        return getattr(self._source, name)

    def read(self) -> Frame | None:
        frame = self._source.read()
        if frame is None or self.degrees == 0:
            return frame
        return dataclasses.replace(frame, image_bgr=rotate_image(frame.image_bgr, self.degrees))

    def close(self) -> None:
        self._source.close()

    def __repr__(self) -> str:
        return f"RotatedSource({self._source!r}, degrees={self.degrees})"
