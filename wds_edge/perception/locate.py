"""The kiosk's locate step: where the face is, and whether the kiosk would segment it.

One step, with the kiosk's defaults, for everything that must see what the kiosk sees: the
analyzer (:meth:`wds_edge.analysis.analyzer.WrinkleAnalyzer.locate`), the INT8 calibration
crops (``wds_edge_calibration.crops`` / ``people``) and the weak labelers
(``wds_edge_train.labeling.face_crop``), so they find the same landmarks, refuse the same
faces and cut the same crop:

1. :func:`detect_faces`: landmarks on the frame downscaled to ``max_side_px``
   (:data:`DEFAULT_MAX_LANDMARK_SIDE_PX`, the analyzer's ``max_landmark_side_px``), in
   full-frame pixels. A photo over 1920 px gets other landmarks (and so another crop, by up
   to a pixel and a quarter degree on biden.jpg) when searched at full size.
2. :func:`~wds_edge.perception.quality.assess_face_crop`: the quality gates on the frame's one
   crop (paper Table 1, roll-aligned, at the model's input size).
3. :func:`colour_gate`: a grey face (``needs_colour_camera``) and, with
   ``QualityConfig.check_white_balance``, the skin's colour (grey skin; ``colour_cast``).

:func:`gate_faces` runs 2-3 on faces already found, :func:`locate_face` all three.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import check_uint8_image
from wds_edge.perception.colour import ColourCast, skin_colour_cast
from wds_edge.perception.face import Face
from wds_edge.perception.face_crop import FaceCrop
from wds_edge.perception.quality import (
    DEFAULT_CROP_SIZE_PX,
    FrameStatus,
    QualityConfig,
    assess_face_crop,
    colour_of,
)

__all__ = [
    "DEFAULT_MAX_LANDMARK_SIDE_PX",
    "LocatedFace",
    "colour_gate",
    "crop_colour_cast",
    "detect_faces",
    "face_region",
    "gate_faces",
    "locate_face",
    "scaled_face",
]

#: Longest frame side the landmarks are searched at (the analyzer's ``max_landmark_side_px``).
DEFAULT_MAX_LANDMARK_SIDE_PX = 1920


@dataclasses.dataclass(frozen=True, eq=False)  # holds arrays: compare by identity
class LocatedFace:
    """What the locate step found in one frame.

    Attributes:
        status: the first gate that refused the face, or ``OK``.
        face: the chosen (largest) face; None only for ``NO_FACE``.
        measured: the gates' measures (see
            :func:`~wds_edge.perception.quality.assess_face_crop`), plus
            ``skin_red_over_blue``, ``skin_red_over_green`` and ``skin_chroma_spread`` when the
            skin colour was measured.
        crop: the face's one crop (the gates measured it; the model is fed it).
        colour: ``"grey"`` or ``"colour"``, of the face (of the whole frame without one).
        cast: the skin's :class:`ColourCast` when it was measured, else None.
    """

    status: FrameStatus
    face: Face | None
    measured: dict[str, float]
    crop: FaceCrop | None
    colour: Literal["grey", "colour"]
    cast: ColourCast | None

    @property
    def faces_found(self) -> int:
        """How many faces the landmarker found in the frame."""
        return int(self.measured["n_faces"])


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
    detect: Callable[[np.ndarray], list[Face]],
    frame_bgr: np.ndarray,
    max_side_px: int = DEFAULT_MAX_LANDMARK_SIDE_PX,
) -> list[Face]:
    """Faces in a BGR frame, searched on a copy no longer than ``max_side_px`` on its
    longest side (INTER_AREA; an 8K photo needs no 8K face detector), in full-frame pixels.

    Args:
        detect: finds faces in an RGB image (a :meth:`FaceLandmarker.detect`, or one bound to
            its timestamp, under whatever lock its caller needs).
        frame_bgr: uint8 (H, W, 3) BGR frame; crops are then taken from it at full size.
        max_side_px: the analyzer's ``max_landmark_side_px``.

    Raises:
        InvalidInputError: not a uint8 (H, W, 3) array.
    """
    check_uint8_image(frame_bgr, "frame_bgr", "BGR")
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
) -> tuple[FrameStatus, Literal["grey", "colour"], ColourCast | None]:
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
    # Measured on the face when there is one: an empty scene (a white wall) is grey with any
    # camera, a face seen by a colour camera never is.
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


def gate_faces(
    frame_bgr: np.ndarray,
    faces: list[Face],
    quality: QualityConfig | None = None,
    *,
    crop_size_px: int = DEFAULT_CROP_SIZE_PX,
    grey_input_supported: bool = False,
) -> LocatedFace:
    """Every gate of the kiosk on faces already found: the quality gates, then the colour.

    Args:
        frame_bgr: uint8 (H, W, 3) BGR frame the faces were found in.
        faces: faces in full-frame pixels (:func:`detect_faces`), any order; the largest is
            judged.
        quality: the gates' thresholds (default :class:`QualityConfig()`, the kiosk's).
        crop_size_px: side of the face crop (the model's input size); the crop is the kiosk's,
            roll-aligned.
        grey_input_supported: the model takes grey faces (its metadata says so); otherwise a
            grey face gets ``needs_colour_camera``.

    Returns:
        A :class:`LocatedFace`.
    """
    quality = quality or QualityConfig()
    status, face, measured, crop = assess_face_crop(
        frame_bgr, faces, quality, crop_size_px=crop_size_px
    )
    status, colour, cast = colour_gate(frame_bgr, face, crop, status, quality, grey_input_supported)
    if cast is not None:
        measured = {
            **measured,
            "skin_red_over_blue": cast.red_over_blue,
            "skin_red_over_green": cast.red_over_green,
            "skin_chroma_spread": cast.chroma_spread,
        }
    return LocatedFace(status, face, measured, crop, colour, cast)


def locate_face(
    detect: Callable[[np.ndarray], list[Face]],
    frame_bgr: np.ndarray,
    quality: QualityConfig | None = None,
    *,
    crop_size_px: int = DEFAULT_CROP_SIZE_PX,
    grey_input_supported: bool = False,
    max_side_px: int = DEFAULT_MAX_LANDMARK_SIDE_PX,
) -> LocatedFace:
    """The whole locate step on one frame: :func:`detect_faces`, then :func:`gate_faces`.

    Args:
        detect: finds faces in an RGB image (:meth:`FaceLandmarker.detect`).
        frame_bgr: uint8 (H, W, 3) BGR frame.
        quality, crop_size_px, grey_input_supported: as :func:`gate_faces`.
        max_side_px: as :func:`detect_faces`.

    Raises:
        InvalidInputError: ``frame_bgr`` is not a uint8 (H, W, 3) array.
    """
    faces = detect_faces(detect, frame_bgr, max_side_px)
    return gate_faces(
        frame_bgr,
        faces,
        quality,
        crop_size_px=crop_size_px,
        grey_input_supported=grey_input_supported,
    )
