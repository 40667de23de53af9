"""The face a weak labeler works on: the kiosk's quality gates, then the kiosk's crop.

Both labelers (:mod:`wds_edge_train.labeling.auto`, :mod:`wds_edge_train.labeling.auto_v2`) label
only
what ``wds-edge analyze`` would accept, on the very crop the kiosk feeds the model
(:func:`wds_edge.perception.crop.kiosk_crop`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from wds_edge_train.labeling.labeled import ImageSkipped

__all__ = ["GatedCrop", "gated_kiosk_crop"]


@dataclass
class GatedCrop:
    """The accepted face of a photo and its kiosk crop."""

    faces_found: int
    landmarks_px: np.ndarray  # (478, 2) float64, photo pixels
    crop_rgb: np.ndarray  # (size, size, 3) uint8 RGB
    transform: Any  # wds_edge.perception.crop.CropTransform
    landmarks_crop_px: np.ndarray  # (478, 2) float64, crop pixels


def gated_kiosk_crop(
    landmarker: Any, image_rgb: np.ndarray, quality: Any, size_px: int
) -> GatedCrop:
    """Detect faces, apply the kiosk's gates (no face, size, pose, light, blur), crop.

    Args:
        landmarker: an open :class:`wds_edge.perception.landmarks.FaceLandmarker`.
        image_rgb: (H, W, 3) uint8 RGB photo.
        quality: :class:`wds_edge.perception.quality.QualityConfig` (the analyzer's gates).
        size_px: crop side in pixels.

    Raises:
        ImageSkipped: the gates refuse the photo (``status`` says why); the runner skips
            and reports it.
    """
    from wds_edge.perception.crop import kiosk_crop
    from wds_edge.perception.quality import FrameStatus, assess_face

    faces = landmarker.detect(image_rgb)
    status, face, measured = assess_face(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), faces, quality)
    if status is not FrameStatus.OK or face is None:
        detail = skip_detail(status.value, measured, quality)
        raise ImageSkipped(
            status.value, f"skipped: {status.value}{detail}, as `wds-edge analyze` would"
        )
    lm = np.asarray(face.landmarks_px, dtype=np.float64)
    crop_rgb, transform = kiosk_crop(image_rgb, lm, size_px, colour_order="rgb")
    return GatedCrop(len(faces), lm, crop_rgb, transform, transform.points_to_crop(lm))


def skip_detail(status: str, measured: dict[str, float], quality: Any) -> str:
    """`` (what was measured vs the gate)`` for the gate that refused the photo, e.g.
    `` (eye distance 31 px, needs >= 40)``; ``""`` when nothing was measured."""
    m = measured
    if status == "face_too_small" and "eye_distance_px" in m:
        needed = quality.min_eye_distance_px
        return f" (eye distance {m['eye_distance_px']:.0f} px, needs >= {needed:g})"
    if status == "turned_away" and "yaw_deg" in m:
        return (
            f" (yaw {m['yaw_deg']:.0f}, pitch {m['pitch_deg']:.0f}, roll {m['roll_deg']:.0f} deg)"
        )
    if status in ("too_dark", "overexposed") and "brightness" in m:
        return f" (brightness {m['brightness']:.0f})"
    if status == "too_blurry" and "sharpness" in m:
        return f" (sharpness {m['sharpness']:.1f}, needs >= {quality.min_sharpness:g})"
    return ""
