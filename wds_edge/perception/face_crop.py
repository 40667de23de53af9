"""One face crop per frame (issue 21): the quality gate, the colour check and the
segmentation read the same warped pixels.

:func:`crop_face` calls the one preprocessing crop (:func:`wds_edge.perception.crop.kiosk_crop`)
once, at the model's input size, and keeps what every later stage needs next to it: the
face's landmarks in crop pixels, the crop pixels that come from the frame (the rest is
zero padding) and, on first use, the facial skin mask. The quality gate measures sharpness
and brightness on this crop resized to its fixed measuring size, the colour check reads
its skin, the model gets it as input and the scores are counted on it.

One exception: sharpness is calibrated on the 640 px crop, and a smaller crop cannot stand
in for it (enlarged pixels read as sharp), so with a model of another input size the quality
gate warps the same box's grey pixels once more at 640 px
(:func:`wds_edge.perception.quality.assess_face_crop`); the mask, colour check, model input
and scores still share this one crop.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import cv2
import numpy as np

from wds_edge.perception.crop import CropTransform, kiosk_crop
from wds_edge.perception.regions import skin_mask

__all__ = ["FaceCrop", "crop_face", "in_frame_mask"]


def in_frame_mask(
    transform: CropTransform, frame_hw: tuple[int, ...], margin_px: float = 1.0
) -> np.ndarray:
    """Crop pixels whose source lies inside the frame, ``margin_px`` frame pixels clear of
    its border (the outermost pixel is interpolated with the zero padding).

    Returns:
        bool ``S x S`` (``S = transform.size_px``).
    """
    height, width = int(frame_hw[0]), int(frame_hw[1])
    m = float(margin_px)
    corners = np.array(
        [[m, m], [width - 1 - m, m], [width - 1 - m, height - 1 - m], [m, height - 1 - m]]
    )
    poly = np.round(transform.points_to_crop(corners) * 16).astype(np.int32)
    out = np.zeros((transform.size_px, transform.size_px), np.uint8)
    cv2.fillConvexPoly(out, poly, 1, lineType=cv2.LINE_8, shift=4)
    return out.astype(bool)


@dataclass(frozen=True, eq=False)  # holds arrays: compare by identity
class FaceCrop:
    """The kiosk crop of one face and what the stages after it share.

    Attributes:
        crop_rgb: uint8 ``S x S x 3`` RGB (paper Table 1 box, roll-aligned; zeros off-frame).
        transform: frame <-> crop mapping.
        landmarks_crop_px: float64 (478, 2) landmarks in crop pixels.
        in_frame: bool ``S x S``, crop pixels that come from the frame (1 px clear of its edge).
    """

    crop_rgb: np.ndarray
    transform: CropTransform
    landmarks_crop_px: np.ndarray
    in_frame: np.ndarray

    @property
    def size_px(self) -> int:
        return int(self.transform.size_px)

    @cached_property
    def skin(self) -> np.ndarray:
        """bool ``S x S`` facial skin inside the frame (face oval minus eyes, brows, lips)."""
        return skin_mask(self.landmarks_crop_px, self.size_px) & self.in_frame


def crop_face(
    frame: np.ndarray,
    face: Any,
    size_px: int,
    *,
    align_roll: bool = True,
    colour_order: str = "bgr",
) -> FaceCrop:
    """Crop a face once (:func:`~wds_edge.perception.crop.kiosk_crop`) for every later stage.

    Args:
        frame: uint8 (H, W, 3) frame in ``colour_order``.
        face: a :class:`~wds_edge.perception.face.Face` or its (478, 2) landmarks in frame pixels.
        size_px: crop side (the model's input size).
        align_roll: level the eye line (the kiosk's default).
        colour_order: ``"bgr"`` (OpenCV frames) or ``"rgb"``.

    Returns:
        A :class:`FaceCrop`.

    Raises:
        InvalidInputError: not a uint8 3-channel image, bad landmarks, ``size_px < 8``.
    """
    crop_rgb, transform = kiosk_crop(
        frame, face, size_px, colour_order=colour_order, align_roll=align_roll
    )
    landmarks = np.asarray(getattr(face, "landmarks_px", face), dtype=np.float64)
    return FaceCrop(
        crop_rgb=crop_rgb,
        transform=transform,
        landmarks_crop_px=transform.points_to_crop(landmarks),
        in_frame=in_frame_mask(transform, frame.shape[:2]),
    )
