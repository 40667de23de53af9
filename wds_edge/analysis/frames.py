"""Frame handling before the pipeline: accepted array layouts, the face box's pixels, the
white-balance check on the frame's one crop, and faces found on a downscaled frame.

:func:`detect_faces` and :func:`colour_gate` are the analyzer's own steps, shared with the
INT8 calibration crops (``wds_edge_calibration.crops``), so calibration finds the same
landmarks and refuses the same faces as the kiosk."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.io import _to_bgr_uint8
from wds_edge.perception.colour import ColourCast, skin_colour_cast
from wds_edge.perception.face_crop import FaceCrop
from wds_edge.perception.landmarks import Face
from wds_edge.perception.quality import FrameStatus, QualityConfig, colour_of

__all__ = [
    "COLOUR_ORDERS",
    "as_frame_bgr",
    "colour_gate",
    "crop_colour_cast",
    "detect_faces",
    "face_region",
    "scaled_face",
]

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


def face_region(frame: np.ndarray, box: tuple[float, ...]) -> np.ndarray:
    """The face box's pixels (clipped to the frame); the whole frame if the box is empty."""
    height, width = frame.shape[:2]
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
    return frame[y1:y2, x1:x2] if x2 - x1 >= 8 and y2 - y1 >= 8 else frame


def crop_colour_cast(crop: FaceCrop | None) -> ColourCast | None:
    """The skin colour of a face on the frame's one crop (None: too little skin to judge).

    A model trained on daylight-balanced photos marks almost nothing under a strong blue
    or red cast while still looking confident; the status says so instead of a near-zero
    score (issue 16)."""
    if crop is None:
        return None
    try:
        return skin_colour_cast(crop.crop_rgb, crop.skin)
    except InvalidInputError:
        return None


def scaled_face(face: Face, factor: float) -> Face:
    """A face found on a downscaled frame, in full-frame pixels."""
    return dataclasses.replace(
        face,
        landmarks_px=(face.landmarks_px * factor).astype(np.float32),
        landmarks_z=(face.landmarks_z * factor).astype(np.float32),
        bbox_px=tuple(float(v) * factor for v in face.bbox_px),  # type: ignore[arg-type]
    )


def detect_faces(
    detect: Callable[[np.ndarray], list[Face]], frame_bgr: np.ndarray, max_side_px: int
) -> list[Face]:
    """Faces in a BGR frame, searched on a copy no longer than ``max_side_px`` on its
    longest side (INTER_AREA; an 8K photo needs no 8K face detector), in full-frame pixels.

    Args:
        detect: finds faces in an RGB image (a :meth:`FaceLandmarker.detect` bound to its
            timestamp, under whatever lock its caller needs).
        frame_bgr: uint8 (H, W, 3) BGR frame; crops are then taken from it at full size.
        max_side_px: the analyzer's ``max_landmark_side_px``.
    """
    height, width = frame_bgr.shape[:2]
    longest = max(height, width)
    factor = 1.0
    small = frame_bgr
    if longest > max_side_px:
        factor = longest / max_side_px
        size = (max(1, round(width / factor)), max(1, round(height / factor)))
        small = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA)
        factor = width / size[0]
    faces = detect(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    return [scaled_face(f, factor) for f in faces] if factor != 1.0 else faces


def colour_gate(
    frame_bgr: np.ndarray,
    face: Face | None,
    crop: FaceCrop | None,
    status: FrameStatus,
    quality: QualityConfig,
    grey_input_supported: bool,
) -> tuple[FrameStatus, str, ColourCast | None]:
    """The colour checks after the quality gates: a grey face and a colour cast.

    A grey face (measured in its box) gets ``needs_colour_camera`` whatever the gates said,
    unless the model takes grey input. A face that passed the gates has its skin measured
    (``quality.check_white_balance``): grey skin (equal channels) is grey too, with the same
    status; skin far off daylight balance gets ``colour_cast``, and so does skin whose chroma
    is flat (:data:`~wds_edge.perception.colour.GREY_MAX_CHROMA_SPREAD`: a tinted grey picture
    or a washed-out colour one): its channels differ, so a colour camera gave it, with its
    white balance or colour saturation far off.

    Returns:
        ``(status, colour, cast)``: the status after the checks, ``"grey"`` or
        ``"colour"`` (of the face, or of the whole frame without one) and the skin's
        :class:`ColourCast` when it was measured (else None).
    """
    colour = colour_of(face_region(frame_bgr, face.bbox_px) if face is not None else frame_bgr)
    if face is not None and colour == "grey" and not grey_input_supported:
        return FrameStatus.NEEDS_COLOUR_CAMERA, colour, None
    cast = None
    if status is FrameStatus.OK and quality.check_white_balance:
        cast = crop_colour_cast(crop)
        if cast is not None and cast.grey:
            colour = "grey"
            if not grey_input_supported:
                status = FrameStatus.NEEDS_COLOUR_CAMERA
        elif cast is not None and cast.far_off:
            status = FrameStatus.COLOUR_CAST
    return status, colour, cast
